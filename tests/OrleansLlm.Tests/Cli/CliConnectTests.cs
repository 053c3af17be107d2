using System.Diagnostics;
using OrleansLlm.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Cli;

/// <summary>
/// No hangs: without a silo the CLI gives up after --connect-timeout saying what it tried; Ctrl-C ends any command at
/// once with 130; and however the CLI goes away, the silo does not log a warning about it.
/// </summary>
[Collection(CliClusterCollection.Name)]
[Trait("Category", "Process")]
public sealed class CliConnectTests(CliCluster cluster, ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("orleansllm-cli-").FullName;

    [Fact]
    public async Task NoSiloInTheCluster_GivesUpAfterConnectTimeout_SayingRedisListsNoGateway()
    {
        // Redis is up, but no silo of this cluster ever started.
        var env = new Dictionary<string, string>(cluster.Environment) { ["Orleans__ClusterId"] = "nobody-here" };
        var clock = Stopwatch.StartNew();

        var run = await CliProcess.RunAsync(["status", "--connect-timeout", "2s"], env);

        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: {run}");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal(
            $"error: no silo of cluster 'nobody-here' (Redis at 127.0.0.1:{cluster.Redis.Port}) is running: Redis lists no gateway; " +
            "start one with 'dotnet run --project src/Silo' (--connect-timeout waits longer for one)",
            Assert.Single(run.StderrLines));
    }

    [Fact]
    public async Task NothingListensAtRedisAddress_SaysItCannotReachRedis()
    {
        var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();

        var run = await CliProcess.RunAsync(["status", "--connect-timeout", "5s"], new Dictionary<string, string> { ["Redis__ConnectionString"] = $"127.0.0.1:{port}" });

        output.WriteLine(run.ToString());
        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"error: cannot reach Redis at 127.0.0.1:{port} (set Redis__ConnectionString or --redis)", Assert.Single(run.StderrLines));
    }

    [Fact]
    public async Task RedisAddressAcceptsButNeverAnswers_GivesUpAfterConnectTimeout()
    {
        // A socket that accepts connections (the OS does, from its backlog) and never says a word.
        var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
        var clock = Stopwatch.StartNew();
        CliRun run;
        try
        {
            run = await CliProcess.RunAsync(["status", "--connect-timeout", "2s"], new Dictionary<string, string> { ["Redis__ConnectionString"] = $"127.0.0.1:{port}" });
        }
        finally
        {
            silent.Stop();
        }

        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: {run}");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal(
            $"error: Redis at 127.0.0.1:{port} did not answer within 2 s (set Redis__ConnectionString or --redis; --connect-timeout waits longer)",
            Assert.Single(run.StderrLines));
    }

    [Fact]
    public async Task SiloListedButNotAnswering_GivesUpAfterConnectTimeout_NamingTheGateway()
    {
        // A frozen silo: Redis still lists its gateway, and its socket accepts, but nothing answers.
        cluster.Silo.Freeze();
        CliRun run;
        var clock = Stopwatch.StartNew();
        try
        {
            run = await cluster.RunAsync("status", "--connect-timeout", "2s");
        }
        finally
        {
            cluster.Silo.Thaw();
        }

        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: {run}");
        Assert.Equal(1, run.ExitCode);
        var line = Assert.Single(run.StderrLines);
        Assert.StartsWith($"error: no silo answered within 2 s at the gateways Redis lists for cluster 'orleansllm' (Redis at 127.0.0.1:{cluster.Redis.Port}): 127.0.0.1:", line);
        Assert.Contains("is a silo running?", line);
        await cluster.Silo.WaitReadyAsync();
    }

    [Fact]
    public async Task CtrlC_WhileConnecting_EndsAtOnceWith130()
    {
        var env = new Dictionary<string, string>(cluster.Environment) { ["Orleans__ClusterId"] = "nobody-here" };
        var earlier = await CliRedisClientsAsync();
        using var cli = CliProcess.Start(["cluster", "--connect-timeout", "5m"], env);
        await Eventually.TrueAsync(async () => (await CliRedisClientsAsync()).Except(earlier).Any(), "the CLI to connect to Redis and look for a gateway");

        var clock = Stopwatch.StartNew();
        cli.Interrupt();
        var run = await cli.WaitAsync(CliProcess.DefaultTimeout);

        output.WriteLine($"exited {clock.ElapsedMilliseconds} ms after SIGINT: {run}");
        Assert.Equal(130, run.ExitCode);
        Assert.Equal("cancelled", Assert.Single(run.StderrLines));
    }

    [Fact]
    public async Task CtrlC_WhileWaitingForABatch_EndsWith130_AndTheSiloLogsNoWarning()
    {
        var file = Path.Combine(_dir, "cities.csv");
        await File.WriteAllLinesAsync(file, File.ReadLines(Cities.DataFile).Take(21));
        var batch = $"t-{Guid.NewGuid():N}"[..14];
        var logMark = cluster.Silo.Output.Length;
        cluster.Simulator.SetSpeed(0.001);
        try
        {
            using var cli = cluster.Start("submit", file, "--batch", batch, "--wait");
            await Eventually.TrueAsync(() => cli.Stderr.Contains("queued", StringComparison.Ordinal), "the CLI to show the batch's progress");

            cli.Interrupt();
            var run = await cli.WaitAsync(CliProcess.DefaultTimeout);

            output.WriteLine(run.ToString());
            Assert.Equal(130, run.ExitCode);
            Assert.Equal("cancelled", run.StderrLines[^1]);
            Assert.Equal(batch, run.Stdout.Trim());
        }
        finally
        {
            cluster.Simulator.SetSpeed(1);
        }

        // Killed outright, the CLI cannot even say goodbye; that is no warning for the silo either.
        using (var killed = cluster.Start("submit", file, "--batch", batch + "k", "--wait"))
        {
            await Eventually.TrueAsync(() => killed.Stderr.Contains("queued", StringComparison.Ordinal), "the second CLI to show progress");
            killed.Kill();
            await killed.WaitAsync(CliProcess.DefaultTimeout);
        }

        await Eventually.TrueAsync(async () => (await cluster.RunAsync("status", batch)).Stdout.Contains("complete", StringComparison.Ordinal), "the interrupted batch to complete");
        var log = cluster.Silo.Output[logMark..];
        output.WriteLine(log);
        var complaints = log.Split('\n').Where(l => l.StartsWith("warn:", StringComparison.Ordinal) || l.StartsWith("fail:", StringComparison.Ordinal)).ToArray();
        Assert.DoesNotContain(complaints, l => l.Contains("Orleans.Runtime.Messaging", StringComparison.Ordinal) || l.Contains("Gateway", StringComparison.Ordinal));
        Assert.DoesNotContain("ConnectionResetException", log);
        Assert.DoesNotContain("ConnectionAbortedException", log);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The ids of the Redis connections CLIs hold now (the CLI names its connection).</summary>
    private async Task<long[]> CliRedisClientsAsync() =>
        [.. (await cluster.Redis.Connection.GetServer("127.0.0.1", cluster.Redis.Port).ClientListAsync()).Where(c => c.Name == "orleansllm-cli").Select(c => c.Id)];
}
