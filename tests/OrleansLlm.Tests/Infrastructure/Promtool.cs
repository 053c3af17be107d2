using System.Diagnostics;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>Prometheus' own <c>promtool</c> (from Debian's prometheus package).</summary>
public static class Promtool
{
    public const string Binary = "/usr/bin/promtool";

    /// <summary>Runs <c>promtool check metrics</c> on a scrape, as Prometheus' docs do with <c>curl ... | promtool check metrics</c>.</summary>
    /// <returns>Its exit code and everything it printed (each problem on a line).</returns>
    public static async Task<(int ExitCode, string Output)> CheckMetricsAsync(string exposition)
    {
        var start = new ProcessStartInfo(Binary) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("check");
        start.ArgumentList.Add("metrics");
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{Binary} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(exposition);
        process.StandardInput.Close();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(deadline.Token);
        return (process.ExitCode, (await stdout) + (await stderr));
    }
}
