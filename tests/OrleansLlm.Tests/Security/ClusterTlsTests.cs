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
[Trait("Category", "Process")]
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

        var cluster = await CliProcess.RunAsync(["cluster", .. LoadedMachine], ClientEnvironment());
        var status = await CliProcess.RunAsync(["status", .. LoadedMachine], ClientEnvironment());

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

        var drain = await CliProcess.RunAsync(["drain", $"127.0.0.1:{b.SiloPort}", .. LoadedMachine], ClientEnvironment());

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

        // The same hand-made client with a client's certificate gets in: the refusals above are the certificates'.
        using var member = X509Certificate2.CreateFromPemFile(_certificates.ClientCertFile, _certificates.ClientKeyFile);
        var control = await TryAsync(c => c.UseTls(member, o => o.AllowAnyRemoteCertificate()),
            async client => $"read the cluster: {(await client.GetCoordinator().GetClusterAsync()).Workers.Count} worker(s)");
        output.WriteLine($"a client's certificate: {control.Outcome} ({control.Elapsed.TotalSeconds:F1} s)");
        Assert.True(control.Called, control.Outcome);

        Assert.True(await silo.IsReadyAsync(), "the silo is still ready");
        var cluster = await CliProcess.RunAsync(["cluster", .. LoadedMachine], ClientEnvironment(("Orleans__Tls__PeerName", "localhost")));
        Assert.Contains(cluster.Stdout.Split('\n'), line => line.StartsWith($"{address}@", StringComparison.Ordinal) && line.Contains(" active "));
        await PushAsync(10);
        await Eventually.TrueAsync(async () => await QueueHandle.RawResultCountAsync(Db, Keys) == 10, "10 results after the intruders");
        output.WriteLine($"the silo logged {Refusals(silo)} refused TLS handshakes");
    }

    [Fact]
    public async Task ClientCertificate_IsRefusedOnTheSiloPort_SiloCertificate_OnTheGateway_MetricsPortServesMetricsAlone()
    {
        var metricsPort = FreePorts.Next();
        var silo = await StartSiloAsync(("Metrics:Port", metricsPort.ToString()));
        using var client = X509Certificate2.CreateFromPemFile(_certificates.ClientCertFile, _certificates.ClientKeyFile);
        using var siloCertificate = X509Certificate2.CreateFromPemFile(_certificates.SiloCertFile, _certificates.SiloKeyFile);
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));

        // A client's certificate, of the cluster's own CA, on the silo port: it may not join as a silo.
        var refusals = Refusals(silo);
        var asSilo = await TlsProbe.ConnectAsync(silo.SiloPort, client, deadline.Token);
        output.WriteLine($"client certificate on the silo port: {asSilo.Outcome}");
        Assert.True(asSilo.Refused, asSilo.Outcome);
        await Eventually.TrueAsync(() => Refusals(silo) > refusals, "the silo to log the refused handshake on its silo port");

        // A silo's certificate on the gateway: silos are not clients.
        refusals = Refusals(silo);
        var asClient = await TlsProbe.ConnectAsync(silo.GatewayPort, siloCertificate, deadline.Token);
        output.WriteLine($"silo certificate on the gateway: {asClient.Outcome}");
        Assert.True(asClient.Refused, asClient.Outcome);
        await Eventually.TrueAsync(() => Refusals(silo) > refusals, "the silo to log the refused handshake on its gateway");

        // Each where it belongs is kept, and the client's certificate works for the real CLI.
        var member = await TlsProbe.ConnectAsync(silo.GatewayPort, client, deadline.Token);
        output.WriteLine($"client certificate on the gateway: {member.Outcome}");
        Assert.False(member.Refused, member.Outcome);
        var cluster = await CliProcess.RunAsync(["cluster", .. LoadedMachine], ClientEnvironment());
        Assert.True(cluster.ExitCode == 0, cluster.ToString());

        // The metrics port answers /metrics alone; the HTTP port everything else, /metrics no longer.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        async Task<int> Status(int port, string path) => (int)(await http.GetAsync($"http://127.0.0.1:{port}{path}", deadline.Token)).StatusCode;
        var statuses = new Dictionary<string, int>();
        foreach (var path in (string[])["/metrics", "/readyz", "/healthz", "/drained", "/dashboard/", "/batches", "/batches/table"])
        {
            statuses[$"{metricsPort}{path}"] = await Status(metricsPort, path);
            statuses[$"http{path}"] = await Status(silo.HttpPort, path);
        }

        output.WriteLine(string.Join(", ", statuses.Select(kv => $"{kv.Key} {kv.Value}")));
        Assert.Equal(200, statuses[$"{metricsPort}/metrics"]);
        Assert.Contains("orleansllm_items_completed_total", await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics", deadline.Token));
        Assert.All(["/readyz", "/healthz", "/drained", "/dashboard/", "/batches", "/batches/table"], path => Assert.Equal(404, statuses[$"{metricsPort}{path}"]));
        Assert.Equal(404, statuses["http/metrics"]);
        Assert.Equal(200, statuses["http/readyz"]);
        Assert.Equal(200, statuses["http/dashboard/"]);
        Assert.Equal(200, statuses["http/batches"]);
        Assert.Equal(200, statuses["http/batches/table"]);
    }

    [Fact]
    public async Task RenewedCertificateFiles_AreUsedByNewConnections_WithoutARestart()
    {
        // Laid out as the kubelet lays out a Secret volume: the files are links into a directory that a renewal
        // replaces whole by swapping the ..data link.
        var volume = Directory.CreateTempSubdirectory("orleansllm-secret-volume-").FullName;
        try
        {
            await WriteVersionAsync(volume, "v1", issue: false);
            var silo = await StartSiloAsync(
                ("Orleans:Tls:CertificateFile", Path.Combine(volume, "tls.crt")),
                ("Orleans:Tls:KeyFile", Path.Combine(volume, "tls.key")),
                ("Orleans:Tls:ReloadInterval", "00:00:01"));
            using var client = X509Certificate2.CreateFromPemFile(_certificates.ClientCertFile, _certificates.ClientKeyFile);
            using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            using var first = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(volume, "tls.crt")));
            var before = await TlsProbe.ConnectAsync(silo.GatewayPort, client, deadline.Token);
            Assert.Equal(first.Thumbprint, before.ServerCertificate?.Thumbprint);

            await WriteVersionAsync(volume, "v2", issue: true);
            using var renewed = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(volume, "tls.crt")));
            Assert.NotEqual(first.Thumbprint, renewed.Thumbprint);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await Eventually.TrueAsync(
                async () => (await TlsProbe.ConnectAsync(silo.GatewayPort, client, deadline.Token)).ServerCertificate?.Thumbprint == renewed.Thumbprint,
                "a new gateway connection to present the renewed certificate");
            output.WriteLine($"the renewed certificate was presented {clock.Elapsed.TotalSeconds:F1} s after the swap");
            Assert.Contains("Cluster certificate reloaded", silo.Output);

            // The silo's own process is the one that started: no restart, and it still serves the CLI.
            var cluster = await CliProcess.RunAsync(["cluster", .. LoadedMachine], ClientEnvironment());
            Assert.True(cluster.ExitCode == 0, cluster.ToString());
        }
        finally
        {
            Directory.Delete(volume, recursive: true);
        }
    }

    // One version of a Secret volume's files: a directory of its own, ..data pointing at it, tls.* pointing through ..data.
    private async Task WriteVersionAsync(string volume, string version, bool issue)
    {
        var dir = Path.Combine(volume, ".." + version);
        Directory.CreateDirectory(dir);
        if (issue)
        {
            _certificates.IssueSilo(Path.Combine(dir, "tls.crt"), Path.Combine(dir, "tls.key"));
        }
        else
        {
            File.Copy(_certificates.SiloCertFile, Path.Combine(dir, "tls.crt"));
            File.Copy(_certificates.SiloKeyFile, Path.Combine(dir, "tls.key"));
        }

        var link = Path.Combine(volume, "..data_tmp");
        File.CreateSymbolicLink(link, ".." + version);
        // rename(2), as the kubelet does, replaces the old link in one step; .NET's File.Move refuses a link to a directory.
        var move = await Deploy.ProcessRunner.RunAsync("mv", ["-T", link, Path.Combine(volume, "..data")]);
        Assert.True(move.ExitCode == 0, move.ToString());
        foreach (var file in (string[])["tls.crt", "tls.key"])
        {
            if (!File.Exists(Path.Combine(volume, file)))
            {
                File.CreateSymbolicLink(Path.Combine(volume, file), Path.Combine("..data", file));
            }
        }
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
            ["Orleans:Tls:CertificateFile"] = _certificates.SiloCertFile,
            ["Orleans:Tls:KeyFile"] = _certificates.SiloKeyFile,
            ["Orleans:Tls:CaFile"] = _certificates.CaFile,
            ["Orleans:Tls:PeerName"] = TestCertificates.SiloName,
            ["Orleans:Tls:ClientPeerName"] = TestCertificates.ClientName,
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

    // What the CLI is given in a client pod: the silos' keys, with a client's certificate of the same CA.
    private Dictionary<string, string> ClientEnvironment(params (string Key, string Value)[] extra)
    {
        var env = new Dictionary<string, string>
        {
            ["Redis__ConnectionString"] = redis.ConnectionString,
            ["Orleans__ClusterId"] = _queue,
            ["Orleans__Tls__Enabled"] = "true",
            ["Orleans__Tls__CertificateFile"] = _certificates.ClientCertFile,
            ["Orleans__Tls__KeyFile"] = _certificates.ClientKeyFile,
            ["Orleans__Tls__CaFile"] = _certificates.CaFile,
            ["Orleans__Tls__PeerName"] = TestCertificates.SiloName,
            ["Orleans__Tls__ClientPeerName"] = TestCertificates.ClientName,
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

    // A member's CLI waits longer than its default 10 s for a gateway: a CI machine shared by several builds can be slow
    // to answer the first handshake, and these tests are about who gets in, not how fast.
    private static readonly string[] LoadedMachine = ["--connect-timeout", "30"];

    // Orleans' TLS middleware logs each handshake it refuses as a warning.
    private static int Refusals(SiloProcess silo) => Regex.Count(silo.Output, "TlsServerConnectionMiddleware\\[1\\]\\s+Authentication failed");
}
