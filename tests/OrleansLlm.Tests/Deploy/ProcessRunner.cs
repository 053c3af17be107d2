using System.ComponentModel;
using System.Diagnostics;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Deploy;

/// <summary>Runs a program of the machine (bash, kubectl) and returns what it did.</summary>
public static class ProcessRunner
{
    public static async Task<CliRun> RunAsync(string program, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        }
        catch (Win32Exception ex)
        {
            throw new SkipException($"'{program}' could not be run: {ex.Message}");
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{program} {string.Join(' ', start.ArgumentList)} did not finish within 2 minutes");
            }

            return new CliRun(process.ExitCode, await stdout, await stderr);
        }
    }
}
