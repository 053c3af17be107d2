using OllamaSim;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Redis;

/// <summary>How real silo processes (and the real CLI) connect to Redis: once, patiently, securely, and saying why not.</summary>
[Trait("Category", "Process")]
public sealed class RedisConnectionTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly List<SimulatorServer> _simulators = [];
    private readonly List<SiloProcess> _silos = [];
    private readonly List<IAsyncDisposable> _redis = [];

    public Task InitializeAsync() => Task.CompletedTask;

    [Fact]
    public async Task EachSilo_HoldsOneRedisConnection_ForQueueClusteringAndDirectory()
    {
        var redis = await StartRedisAsync(new RedisProcessOptions());
        var queue = LlmClusterOptions.NewQueueName();
        await LaunchSiloAsync(redis, queue, ("Redis:ClientName", "silo-a"));
        await LaunchSiloAsync(redis, queue, ("Redis:ClientName", "silo-b"));
        var cities = await Cities.LoadAsync(20);
        await redis.Db.ListRightPushAsync(queue, cities.Select(c => (RedisValue)c.Json).ToArray());
        await Eventually.TrueAsync(async () => await QueueHandle.RawResultCountAsync(redis.Db, new QueueKeys(queue)) == 20, "20 results");

        var clients = await ClientListAsync(redis);
        foreach (var name in new[] { "silo-a", "silo-b" })
        {
            var mine = clients.Where(c => c["name"] == name).ToArray();
            output.WriteLine($"{name}: {string.Join("; ", mine.Select(c => $"flags={c["flags"]} cmd={c["cmd"]}"))}");
            // One multiplexer: one connection for commands, plus the one StackExchange.Redis keeps subscribed for its own events.
            Assert.Single(mine, c => !c["flags"].Contains('P'));
            Assert.True(mine.Length <= 2, $"{name} holds {mine.Length} connections");
        }
    }

    [Fact]
    public async Task UnreachableRedisAtStart_SiloKeepsTryingNamingTheEndpoint_ThenServes()
    {
        var port = FreePorts.Next();
        var silo = Launch(new Dictionary<string, string>
        {
            ["Redis:ConnectionString"] = $"127.0.0.1:{port},password=not-in-any-log",
            ["Queue:Name"] = LlmClusterOptions.NewQueueName(),
            ["Ollama:Url"] = (await StartSimulatorAsync()).Url.ToString(),
        });

        await Eventually.TrueAsync(() => silo.Output.Contains($"Redis at 127.0.0.1:{port} does not answer yet", StringComparison.Ordinal),
            "the silo to say which Redis it is waiting for");
        await StartRedisAsync(new RedisProcessOptions { Port = port, Password = "not-in-any-log" });
        await silo.WaitReadyAsync();

        Assert.DoesNotContain("not-in-any-log", silo.Output);
    }

    [Fact]
    public async Task WrongPassword_SiloExits1_WithOneLineNamingTheEndpointNotThePassword()
    {
        var redis = await StartRedisAsync(new RedisProcessOptions { Password = "right-password" });
        var silo = Launch(new Dictionary<string, string>
        {
            ["Redis:ConnectionString"] = $"127.0.0.1:{redis.Port},password=wrong-password",
            ["Ollama:Url"] = (await StartSimulatorAsync()).Url.ToString(),
        });

        var exitCode = await silo.WaitForExitAsync(TimeSpan.FromSeconds(60));

        output.WriteLine(silo.Output);
        Assert.Equal(1, exitCode);
        var stderr = silo.Stderr.Trim().Split('\n');
        Assert.Single(stderr);
        Assert.StartsWith($"error: Redis at 127.0.0.1:{redis.Port} refused the credentials", stderr[0]);
        Assert.DoesNotContain("wrong-password", silo.Output);
        Assert.DoesNotContain("   at ", silo.Output);
    }

    [Fact]
    public async Task PasswordAndTls_SiloAndCliWorkEndToEnd()
    {
        using var certificates = TestCertificates.Create();
        var redis = await StartRedisAsync(new RedisProcessOptions { Password = "s3cret-pass", Tls = certificates });
        var queue = LlmClusterOptions.NewQueueName();
        await LaunchSiloAsync(redis, queue, ("Redis:TrustedCaFile", redis.TrustedCaFile!));
        var data = Path.Combine(certificates.Directory, "cities.csv");
        await File.WriteAllLinesAsync(data, File.ReadLines(Cities.DataFile).Take(11));
        var env = new Dictionary<string, string>
        {
            ["Redis__ConnectionString"] = redis.ConnectionString,
            ["Redis__TrustedCaFile"] = redis.TrustedCaFile!,
        };

        var submit = await CliProcess.RunAsync(["submit", data, "--batch", "tls-batch", "--wait"], env);
        var results = await CliProcess.RunAsync(["results", "tls-batch"], env);

        output.WriteLine(submit.ToString());
        Assert.Equal(0, submit.ExitCode);
        Assert.Equal(0, results.ExitCode);
        Assert.Equal(10, results.Stdout.Trim().Split('\n').Length);
        Assert.DoesNotContain("s3cret-pass", submit.Stderr + submit.Stdout + _silos[0].Output);

        // Without the CA, the CLI refuses the server: TLS is really in use.
        var untrusted = await CliProcess.RunAsync(["status"], new Dictionary<string, string> { ["Redis__ConnectionString"] = redis.ConnectionString });
        Assert.Equal(1, untrusted.ExitCode);
        Assert.StartsWith($"error: Redis at 127.0.0.1:{redis.Port} presented a TLS certificate this machine does not trust", untrusted.Stderr);
    }

    public async Task DisposeAsync()
    {
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        foreach (var simulator in _simulators)
        {
            await simulator.DisposeAsync();
        }

        foreach (var redis in _redis)
        {
            await redis.DisposeAsync();
        }
    }

    private async Task<RedisProcess> StartRedisAsync(RedisProcessOptions options)
    {
        var redis = await RedisProcess.StartAsync(options);
        _redis.Add(redis);
        return redis;
    }

    private async Task<SimulatorServer> StartSimulatorAsync()
    {
        var simulator = await SimulatorServer.StartAsync(new SimulatorOptions { Parallel = 2, TimeScale = 0.001 });
        _simulators.Add(simulator);
        return simulator;
    }

    private async Task LaunchSiloAsync(RedisProcess redis, string queue, params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string>
        {
            ["Redis:ConnectionString"] = redis.ConnectionString,
            ["Queue:Name"] = queue,
            ["Ollama:Url"] = (await StartSimulatorAsync()).Url.ToString(),
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        var silo = Launch(settings);
        await silo.WaitReadyAsync();
    }

    private SiloProcess Launch(Dictionary<string, string> settings)
    {
        var silo = SiloProcess.Launch(settings);
        _silos.Add(silo);
        return silo;
    }

    private static async Task<List<Dictionary<string, string>>> ClientListAsync(RedisProcess redis)
    {
        var list = (string)(await redis.Connection.GetServer("127.0.0.1", redis.Port).ExecuteAsync("CLIENT", "LIST"))!;
        return list.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Trim().Split(' ').Select(f => f.Split('=', 2)).Where(kv => kv.Length == 2).ToDictionary(kv => kv[0], kv => kv[1]))
            .ToList();
    }
}
