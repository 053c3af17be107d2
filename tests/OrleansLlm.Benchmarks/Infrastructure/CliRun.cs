using System.Diagnostics;

namespace OrleansLlm.Benchmarks.Infrastructure;

/// <summary>One run of the built <c>orleansllm</c> CLI as a process of its own: what it printed, how long it took, and its CPU time.</summary>
/// <param name="CpuSeconds">Its user and system time, counted by the kernel once it exited.</param>
public sealed record CliRun(int ExitCode, string Stdout, string Stderr, double Seconds, double CpuSeconds)
{
    /// <summary>
    /// Runs <paramref name="cliDll"/> with <paramref name="args"/>, the cluster named by <paramref name="environment"/>
    /// (<c>Redis__ConnectionString</c>, <c>Orleans__ClusterId</c>), to its end.
    /// </summary>
    /// <remarks>One CLI at a time: its CPU time is this process's waited-for children's, before and after.</remarks>
    /// <exception cref="InvalidOperationException">It exited with an error; the message is its own.</exception>
    public static async Task<CliRun> RunAsync(string cliDll, IReadOnlyDictionary<string, string> environment, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet", [cliDll, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var cpuBefore = CpuTime.OfExitedChildren();
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("the CLI did not start");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var run = new CliRun(process.ExitCode, await stdout, await stderr, clock.Elapsed.TotalSeconds, CpuTime.OfExitedChildren() - cpuBefore);
        return run.ExitCode == 0
            ? run
            : throw new InvalidOperationException($"orleansllm {string.Join(' ', args)} exited with {run.ExitCode}: {run.Stderr.Trim()}");
    }
}
