using System.Diagnostics;

namespace OrleansLlm.Cli.Output;

/// <summary>Shows a batch's progress: a bar redrawn in place on a terminal, a line every few seconds otherwise.</summary>
public sealed class ProgressView(TextWriter output, bool interactive)
{
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(5);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _lastLine = -LogInterval;

    public void Show(BatchProgress p)
    {
        var total = p.Total ?? 0;
        var finished = p.Done + p.DeadLettered;
        var fraction = total == 0 ? 0 : Math.Min(1, (double)finished / total);
        var elapsed = _clock.Elapsed;
        var rate = elapsed.TotalSeconds > 0 ? finished / elapsed.TotalSeconds : 0;
        var eta = rate > 0 && total > finished ? TimeSpan.FromSeconds((total - finished) / rate) : TimeSpan.Zero;
        const int width = 30;
        var filled = (int)(fraction * width);
        var line = $"[{new string('#', filled)}{new string('.', width - filled)}] {fraction,4:P0} {finished}/{total} " +
                   $"done {p.Done}, dead {p.DeadLettered}, in flight {p.InFlight}, queued {p.Queued} | {rate:F1}/s, elapsed {elapsed:mm\\:ss}" +
                   (eta > TimeSpan.Zero ? $", eta {eta:hh\\:mm\\:ss}" : string.Empty);
        if (interactive)
        {
            output.Write($"\r{line}\u001b[K");
        }
        else if (elapsed - _lastLine >= LogInterval || p.IsComplete)
        {
            _lastLine = elapsed;
            output.WriteLine(line);
        }
    }

    public void Finish()
    {
        if (interactive)
        {
            output.WriteLine();
        }
    }
}
