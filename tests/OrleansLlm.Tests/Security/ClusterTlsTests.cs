using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using OllamaSim;
using Orleans.Connections.Security;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Security;

/// <summary>
/// Real silo processes with mutual TLS (<c>Orleans:Tls</c>), the real CLI, and hand-made Orleans clients: members get
/// in, nobody else does.
/// </summary>
[Collection(SlowRedisCollection.Name)]
public sealed class ClusterTlsTests(RedisServer redis, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _queue = LlmClusterOptions.NewQueueName();
    private readonly TestCertificates _certificates = TestCertificates.Create();
    private readonly List<SimulatorServer> _simulators = [];
    private readonly List<SiloProcess> _silos = [];
    private int _pushed;

    private IDatabase Db => redis.Connection.GetDatabase();

    private QueueKeys Keys => new(_queue);

    public Task InitializeAsync() => Task.CompletedTask;

    [Fact]
    public async Task TlsSilos_FormAClusterAndEnrichItems_TheCliWithTheCertificateWorks()
    {
        var a = await StartSiloAsync();
        var b = await StartSiloAsync();
        await PushAsync(20);
        await Eventually.TrueAsync(async () => await QueueHandle.RawResultCountAsync(Db, Keys) == 20, "20 results from two TLS silos");

        var cluster = await CliProcess.RunAsync(["cluster"], ClientEnvironment());
        var status = await CliProcess.RunAsync(["status"], ClientEnvironment());

        output.WriteLine(cluster.ToString());
        output.WriteLine(status.ToString());
        Assert.Equal(0, cluster.ExitCode);
        // Each worker reports to the one coordinator: one of the two did so over a TLS silo-to-silo connection.
        foreach (var silo in new[] { a, b })
        {
            Assert.Contains(cluster.Stdout.Split('\n'), line => line.StartsWith($"127.0.0.1:{silo.SiloPort}@", StringComparison.Ordinal) && line.Contains(" Active ") && line.Contains(" active "));
        }

        Assert.Equal(0, status.ExitCode);
        Assert.Contains("done 20, dead-lettered 0", status.Stdout);

        var drain = await CliProcess.RunAsync(["drain", $"127.0.0.1:{b.SiloPort}"], ClientEnvironment());

        output.WriteLine(drain.ToString());
        Assert.Equal(0, drain.ExitCode);
        await Eventually.TrueAsync(async () => !await b.IsReadyAsync(), "the drained silo to stop being ready");
        await PushAsync(10);
        await Eventually.TrueAsync(async () => await QueueHandle.RawResultCountAsync(Db, Keys) == 30, "10 more results from the silo left");
        Assert.True(await a.IsReadyAsync());
    }

    [Fact]
    public async Task ClientsWithoutTheClusterCertificate_CannotConnectOrDrain_TheSiloStaysActiveAndWorks()
    {
        var silo = await StartSiloAsync(("Orleans:Tls:PeerName", "localhost"));
        var address = $"127.0.0.1:{silo.SiloPort}";

        // The real CLI as a machine without the certificate runs it.
        var cli = await CliProcess.RunAsync(["drain", address], new Dictionary<string, string> { ["Redis__ConnectionString"] = redis.ConnectionString, ["Orleans__ClusterId"] = _queue });
        output.WriteLine($"CLI without TLS: {cli}");
        Assert.Equal(1, cli.ExitCode);
        Assert.StartsWith("error: ", cli.Stderr);

        // Hand-made clients that trust any server, so only the silo's refusal can stop them.
        using var stranger = X509Certificate2.CreateFromPemFile(_certificates.StrangerCertFile, _certificates.StrangerKeyFile);
        using var otherName = X509Certificate2.CreateFromPemFile(_certificates.OtherNameCertFile, _certificates.OtherNameKeyFile);
        var intruders = new (string Who, Action<IClientBuilder> Tls)[]
        {
            ("no TLS", _ => { }),
            ("TLS without a certificate", c => c.UseTls(o => o.AllowAnyRemoteCertificate())),
            ("a certificate from another CA", c => c.UseTls(stranger, o => o.AllowAnyRemoteCertificate())),
            ("a certificate from the cluster's CA for another name", c => c.UseTls(otherName, o => o.AllowAnyRemoteCertificate())),
        };
        foreach (var (who, tls) in intruders)
        {
            var refusals = Refusals(silo);
            var attempt = await TryAsync(tls, async client => $"drained {await client.GetCoordinator().DrainAsync(address)}");
            output.WriteLine($"{who}: {attempt.Outcome} ({attempt.Elapsed.TotalSeconds:F1} s)");
            Assert.False(attempt.Connected, $"{who}: {attempt.Outcome}");
            // The silo's handshake refused it, not the client itself.
            await Eventually.TrueAsync(() => Refusals(silo) > refusals, $"the silo to log the refused handshake of a client with {who}");
        }

        // The same hand-made client with the cluster's certificate gets in: the refusals above are the certificates'.
        using var member = X509Certificate2.CreateFromPemFile(_certificates.CertFile, _certificates.KeyFile);
        var control = await TryAsync(c => c.UseTls(member, o => o.AllowAnyRemoteCertificate()),
            async client => $"read the cluster: {(await client.GetCoordinator().GetClusterAsync()).Workers.Count} worker(s)");
        output.WriteLine($"the cluster's certificate: {control.Outcome} ({control.Elapsed.TotalSeconds:F1} s)");
        Assert.True(control.Called, control.Outcome);

        Assert.True(await silo.IsReadyAsync(), "the silo is still ready");
        var cluster = await CliProcess.RunAsync(["cluster"], ClientEnvironment(("Orleans__Tls__PeerName", "localhost")));
        Assert.Contains(cluster.Stdout.Split('\n'), line => line.StartsWith($"{address}@", StringComparison.Ordinal) && line.Contains(" active "));
        await PushAsync(10);
        await Eventually.TrueAsync(async () => await QueueHandle.RawResultCountAsync(Db, Keys) == 10, "10 results after the intruders");
        output.WriteLine($"the silo logged {Refusals(silo)} refused TLS handshakes");
    }

    [Fact]
    public async Task Silo_WithACertificateTheCaDidNotSign_Exits1WithOneLine()
    {
        var silo = SiloProcess.Launch(new Dictionary<string, string>
        {
            ["Redis:ConnectionString"] = redis.ConnectionString,
            ["Queue:Name"] = _queue,
            ["Orleans:Tls:Enabled"] = "true",
            ["Orleans:Tls:CertificateFile"] = _certificates.StrangerCertFile,
            ["Orleans:Tls:KeyFile"] = _certificates.StrangerKeyFile,
            ["Orleans:Tls:CaFile"] = _certificates.CaFile,
        });
        _silos.Add(silo);

        var exitCode = await silo.WaitForExitAsync(TimeSpan.FromSeconds(60));

        output.WriteLine(silo.Output);
        Assert.Equal(1, exitCode);
        var stderr = Assert.Single(silo.Stderr.Trim().Split('\n'));
        Assert.StartsWith($"error: Orleans:Tls:CertificateFile '{_certificates.StrangerCertFile}' is not valid under a CA of Orleans:Tls:CaFile", stderr);
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

        _certificates.Dispose();
    }

    private async Task<ClientAttempt> TryAsync(Action<IClientBuilder> tls, Func<IClusterClient, Task<string>> call)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        return await HandmadeClient.TryAsync(redis.ConnectionString, _queue, tls, call, deadline.Token);
    }

    private async Task<SiloProcess> StartSiloAsync(params (string Key, string Value)[] extra)
    {
        var simulator = await SimulatorServer.StartAsync(new SimulatorOptions { Parallel = 2, TimeScale = 0.001 });
        _simulators.Add(simulator);
        var settings = new Dictionary<string, string>
        {
            ["Redis:ConnectionString"] = redis.ConnectionString,
            ["Orleans:ClusterId"] = _queue,
            ["Queue:Name"] = _queue,
            ["Ollama:Url"] = simulator.Url.ToString(),
            ["Orleans:Tls:Enabled"] = "true",
            ["Orleans:Tls:CertificateFile"] = _certificates.CertFile,
            ["Orleans:Tls:KeyFile"] = _certificates.KeyFile,
            ["Orleans:Tls:CaFile"] = _certificates.CaFile,
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        var silo = SiloProcess.Launch(settings);
        _silos.Add(silo);
        await silo.WaitReadyAsync();
        return silo;
    }

    // What the CLI is given on a machine that holds the cluster's certificate: the same keys as the silos.
    private Dictionary<string, string> ClientEnvironment(params (string Key, string Value)[] extra)
    {
        var env = new Dictionary<string, string>
        {
            ["Redis__ConnectionString"] = redis.ConnectionString,
            ["Orleans__ClusterId"] = _queue,
            ["Orleans__Tls__Enabled"] = "true",
            ["Orleans__Tls__CertificateFile"] = _certificates.CertFile,
            ["Orleans__Tls__KeyFile"] = _certificates.KeyFile,
            ["Orleans__Tls__CaFile"] = _certificates.CaFile,
        };
        foreach (var (key, value) in extra)
        {
            env[key] = value;
        }

        return env;
    }

    // Cities not pushed before, so every push adds as many results.
    private async Task PushAsync(int count)
    {
        var cities = await Cities.LoadAsync(_pushed + count);
        await Db.ListRightPushAsync(Keys.Ready, cities.Skip(_pushed).Select(c => (RedisValue)c.Json).ToArray());
        _pushed += count;
    }

    // Orleans' TLS middleware logs each handshake it refuses as a warning.
    private static int Refusals(SiloProcess silo) => Regex.Count(silo.Output, "TlsServerConnectionMiddleware\\[1\\]\\s+Authentication failed");
}
