using System.Globalization;

namespace OrleansLlm.Client.Output;

/// <summary>
/// Shows a batch's progress: a bar redrawn in place on a terminal, or a line every <see cref="LogInterval"/>
/// otherwise (a log), with the rate over the last <see cref="RateWindow"/>.
/// </summary>
/// <remarks>
/// Time starts at the first progress, not before: items finished while the batch was being submitted are not counted
/// as if done in no time. In log mode <see cref="TickAsync"/> keeps the lines coming even while the cluster is slow to
/// answer, saying how old the last answer is.
/// </remarks>
public sealed class ProgressView(TextWriter output, bool interactive, TimeProvider time)
{
    public static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan RateWindow = TimeSpan.FromSeconds(10);

    // Too short a span makes a wild rate (a burst of results over a few milliseconds): show none until this much has passed.
    private static readonly TimeSpan MinRateSpan = TimeSpan.FromSeconds(1);
    private const int BarWidth = 30;

    private readonly Lock _gate = new();
    private readonly Queue<(long At, long Finished)> _samples = new();
    private BatchProgress? _last;
    private long _start;
    private long _lastAnswer;
    private long? _lastLine;

    /// <summary>Records a progress report and shows it (in log mode, when a line is due).</summary>
    public void Show(BatchProgress progress)
    {
        lock (_gate)
        {
            var now = time.GetTimestamp();
            if (_last is null)
            {
                _start = now;
            }

            _last = progress;
            _lastAnswer = now;
            _samples.Enqueue((now, progress.Done + progress.DeadLettered));
            while (_samples.Count > 2 && time.GetElapsedTime(_samples.Peek().At, now) > RateWindow)
            {
                _samples.Dequeue();
            }

            if (interactive)
            {
                output.Write($"\r{Line(now)}\u001b[K");
            }
            else if (_lastLine is not { } previous || time.GetElapsedTime(previous, now) >= LogInterval || progress.IsComplete)
            {
                WriteLine(now);
            }
        }
    }

    /// <summary>In log mode, writes the last progress again when a line is due and no report came in time.</summary>
    public void Tick()
    {
        lock (_gate)
        {
            var now = time.GetTimestamp();
            if (!interactive && _last is not null && _lastLine is { } previous && time.GetElapsedTime(previous, now) >= LogInterval)
            {
                WriteLine(now);
            }
        }
    }

    /// <summary>Calls <see cref="Tick"/> every second until cancelled.</summary>
    public async Task TickAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                Tick();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Finish()
    {
        if (interactive)
        {
            output.WriteLine();
        }
    }

    private void WriteLine(long now)
    {
        _lastLine = now;
        output.WriteLine(Line(now));
    }

    private string Line(long now)
    {
        var p = _last!;
        var total = p.Total ?? 0;
        var finished = p.Done + p.DeadLettered;
        var fraction = total == 0 ? 0 : Math.Min(1, (double)finished / total);
        var filled = (int)(fraction * BarWidth);
        var elapsed = time.GetElapsedTime(_start, now);
        var rate = Rate();
        var eta = rate is > 0 && total > finished ? TimeSpan.FromSeconds((total - finished) / rate.Value) : (TimeSpan?)null;
        var silence = time.GetElapsedTime(_lastAnswer, now);
        var ic = CultureInfo.InvariantCulture;
        var rateText = rate is { } r ? string.Create(ic, $"{r:F1}/s") : "-/s";
        var etaText = eta is { } e ? string.Create(ic, $", eta {e:hh\\:mm\\:ss}") : string.Empty;
        var silenceText = silence >= LogInterval ? string.Create(ic, $" (no answer from the cluster for {silence.TotalSeconds:F0} s)") : string.Empty;
        return string.Create(ic,
            $"[{new string('#', filled)}{new string('.', BarWidth - filled)}] {fraction,4:P0} {finished}/{total} done {p.Done}, dead {p.DeadLettered}, " +
            $"in flight {p.InFlight}, queued {p.Queued} | {rateText}, elapsed {elapsed:mm\\:ss}{etaText}{silenceText}");
    }

    /// <summary>Items finished per second over the samples of the last <see cref="RateWindow"/>; null until there is a span to measure.</summary>
    private double? Rate()
    {
        var (firstAt, firstFinished) = _samples.Peek();
        var (lastAt, lastFinished) = _samples.Last();
        var span = time.GetElapsedTime(firstAt, lastAt);
        return span < MinRateSpan ? null : (lastFinished - firstFinished) / span.TotalSeconds;
    }
}
