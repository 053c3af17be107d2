using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using OllamaSim;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Observability;

/// <summary>
/// <c>orleansllm top</c>, the real CLI, against a real silo process: once for scripts, and live in a real terminal (a
/// pseudo-terminal from util-linux's <c>script</c>), where Ctrl-C is typed as a user would and must leave the terminal clean.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Process")]
public sealed partial class TopCommandTests(RedisServer redis, ITestOutputHelper output) : IAsyncLifetime
{
    private const string HideCursor = "\u001b[?25l";
    private const string ShowCursor = "\u001b[?25h";

    private readonly string _queue = LlmClusterOptions.NewQueueName();
    private ProcessReplicaSet _silos = null!;

    private SiloProcess Silo => _silos.Running.Single();

    private Dictionary<string, string> CliEnvironment => new()
    {
        ["Redis__ConnectionString"] = redis.ConnectionString,
        ["Orleans__ClusterId"] = _queue,
    };

    public async Task InitializeAsync()
    {
        _silos = new ProcessReplicaSet(() => new SimulatorOptions { Parallel = 2, TimeScale = 0.001 }, new Dictionary<string, string>
        {
            ["Redis:ConnectionString"] = redis.ConnectionString,
            ["Orleans:ClusterId"] = _queue,
            ["Queue:Name"] = _queue,
            ["Worker:AdaptiveConcurrency"] = "false",
            ["Worker:MaxConcurrency"] = "3",
            ["Worker:HeartbeatInterval"] = "00:00:00.500",
        });
        await _silos.ScaleUpAsync();
    }

    [Fact]
    public async Task Once_ShowsTheSiloItsStateAndLimit_AndTheQueue()
    {
        await redis.Connection.GetDatabase().HashSetAsync(new OrleansLlm.Queue.QueueKeys(_queue).Stats, "dead", 1);

        CliRun run = null!;
        // The coordinator knows a worker from its first heartbeat on.
        await Eventually.TrueAsync(async () => (run = await CliProcess.RunAsync(["top", "--once"], CliEnvironment)).Stdout.Contains("active", StringComparison.Ordinal),
            "top to list the worker", describe: () => Task.FromResult(run?.ToString() ?? "nothing"));

        output.WriteLine(run.Stdout);
        Assert.Equal(0, run.ExitCode);
        var row = run.Stdout.Split('\n').Single(l => l.Contains($"127.0.0.1:{Silo.SiloPort}", StringComparison.Ordinal));
        Assert.Matches(@"active\s+3\s+\d+\s+[\d.]+\s+[\d.]+ s", row);
        Assert.Contains($"queue {_queue}: 0 ready, 0 in flight, 1 dead-lettered", Regex.Replace(run.Stdout, @"\s+", " "));
    }

    [Fact]
    public async Task Live_RefreshesEverySecond_AndCtrlCLeavesTheTerminalClean()
    {
        var command = $"exec dotnet {RepoPaths.BuiltProgram("Cli", "orleansllm")} top";
        var start = new ProcessStartInfo("script") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "--quiet", "--return", "--command", command, "/dev/null" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["TERM"] = "xterm-256color";
        foreach (var (key, value) in CliEnvironment)
        {
            start.Environment[key] = value;
        }

        using var script = Process.Start(start) ?? throw new InvalidOperationException("script did not start");
        var screen = new StringBuilder();
        var reader = Task.Run(async () =>
        {
            var buffer = new char[4096];
            int read;
            while ((read = await script.StandardOutput.ReadAsync(buffer)) > 0)
            {
                lock (screen)
                {
                    screen.Append(buffer, 0, read);
                }
            }
        });
        string Screen()
        {
            lock (screen)
            {
                return screen.ToString();
            }
        }

        try
        {
            await Eventually.TrueAsync(() => Refreshes(Screen()) >= 3 && Screen().Contains("active", StringComparison.Ordinal),
                "three refreshes of the live table", describe: () => Task.FromResult(Screen()));

            // Ctrl-C, typed: the terminal turns it into SIGINT for the foreground process.
            await script.StandardInput.WriteAsync('\u0003');
            await script.StandardInput.FlushAsync();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await script.WaitForExitAsync(deadline.Token);
            await reader;
        }
        finally
        {
            if (!script.HasExited)
            {
                script.Kill(entireProcessTree: true);
            }
        }

        var shown = Screen();
        output.WriteLine($"{Refreshes(shown)} refreshes, {shown.Length} characters; the end: {Printable(shown[^Math.Min(400, shown.Length)..])}");
        Assert.Equal(0, script.ExitCode);
        Assert.Contains(HideCursor, shown);
        Assert.True(shown.LastIndexOf(ShowCursor, StringComparison.Ordinal) > shown.LastIndexOf(HideCursor, StringComparison.Ordinal),
            "the cursor is still hidden after Ctrl-C");
        Assert.DoesNotContain("cancelled", shown);
        Assert.DoesNotContain("Exception", shown);
    }

    public async Task DisposeAsync() => await _silos.DisposeAsync();

    // Each refresh stamps the time in the table's caption.
    private static int Refreshes(string screen) => Stamp().Matches(screen).Select(m => m.Value).Distinct().Count();

    private static string Printable(string text) => text.Replace("\u001b", "\\e", StringComparison.Ordinal);

    [GeneratedRegex(@"\d\d:\d\d:\d\d, Ctrl-C to quit")]
    private static partial Regex Stamp();
}
