using System.Diagnostics;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>What one run of the real <c>orleansllm</c> executable did.</summary>
public sealed record CliRun(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}; stdout: {Stdout.Trim()}; stderr: {Stderr.Trim()}";
}

/// <summary>Runs the real <c>orleansllm</c> CLI, built beside the tests, as a user would: arguments, environment, exit code, stdout and stderr.</summary>
public static class CliProcess
{
    public static async Task<CliRun> RunAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        start.ArgumentList.Add(RepoPaths.BuiltProgram("Cli", "orleansllm"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // Only what the test gives: no Redis or cluster settings leak in from the machine running the tests.
        start.Environment.Remove("Redis__ConnectionString");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("the CLI did not start");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"orleansllm {string.Join(' ', start.ArgumentList.Skip(1))} did not exit within {timeout ?? TimeSpan.FromMinutes(2)}");
        }

        return new CliRun(process.ExitCode, await stdout, await stderr);
    }
}
