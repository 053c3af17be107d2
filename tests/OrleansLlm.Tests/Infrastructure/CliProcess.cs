using System.Diagnostics;
using System.Text;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>What one run of the real <c>orleansllm</c> executable did.</summary>
public sealed record CliRun(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>The lines written to stderr, without blank ones.</summary>
    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public override string ToString() => $"exit {ExitCode}; stdout: {Stdout.Trim()}; stderr: {Stderr.Trim()}";
}

/// <summary>Runs the real <c>orleansllm</c> CLI, built beside the tests, as a user would: arguments, environment, exit code, stdout and stderr.</summary>
public static class CliProcess
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    public static async Task<CliRun> RunAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        using var cli = Start(args, environment);
        return await cli.WaitAsync(timeout ?? DefaultTimeout);
    }

    /// <summary>Starts the CLI without waiting for it, e.g. to interrupt it.</summary>
    public static RunningCli Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
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

        return new RunningCli(Process.Start(start) ?? throw new InvalidOperationException("the CLI did not start"), string.Join(' ', start.ArgumentList.Skip(1)));
    }
}

/// <summary>A CLI process that is running: its output so far, signals, and its end.</summary>
public sealed class RunningCli : IDisposable
{
    private readonly Process _process;
    private readonly string _commandLine;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal RunningCli(Process process, string commandLine)
    {
        _process = process;
        _commandLine = commandLine;
        _process.StandardInput.Close();
        _process.OutputDataReceived += (_, e) => Append(_stdout, _stdoutClosed, e.Data);
        _process.ErrorDataReceived += (_, e) => Append(_stderr, _stderrClosed, e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int ProcessId => _process.Id;

    public string Stdout => Read(_stdout);

    public string Stderr => Read(_stderr);

    /// <summary>Ctrl-C, as a terminal sends it.</summary>
    public void Interrupt() => PosixSignals.Send(_process.Id, PosixSignals.SigInt);

    public void Kill() => PosixSignals.Send(_process.Id, PosixSignals.SigKill);

    public async Task<CliRun> WaitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
            await Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task).WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"orleansllm {_commandLine} did not exit within {timeout}; stderr so far: {Stderr}");
        }

        return new CliRun(_process.ExitCode, Stdout, Stderr);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private static void Append(StringBuilder output, TaskCompletionSource closed, string? line)
    {
        if (line is null)
        {
            closed.TrySetResult();
            return;
        }

        lock (output)
        {
            output.Append(line).Append('\n');
        }
    }

    private static string Read(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }
}
