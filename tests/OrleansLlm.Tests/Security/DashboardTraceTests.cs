using OllamaSim;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Security;

/// <summary>The dashboard's live log (<c>/dashboard/Trace</c>) carries item text, so a silo serves it only when told to.</summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Process")]
public sealed class DashboardTraceTests(RedisServer redis, ITestOutputHelper output) : IAsyncLifetime
{
    private const string StreamBanner = "You are connected to the Orleans Dashboard log streaming service";

    private readonly List<SimulatorServer> _simulators = [];
    private readonly List<SiloProcess> _silos = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public Task InitializeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Trace_IsRefusedByDefault_AndStreamsOnlyWhenTurnedOn()
    {
        var closed = await StartSiloAsync();
        var open = await StartSiloAsync(("Dashboard:Trace", "true"));

        using var refused = await _http.GetAsync($"http://127.0.0.1:{closed.HttpPort}/dashboard/Trace", HttpCompletionOption.ResponseHeadersRead);
        var body = await refused.Content.ReadAsStringAsync();
        output.WriteLine($"default: HTTP {(int)refused.StatusCode} {body}");
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.DoesNotContain(StreamBanner, body);

        // The control: the same request streams the log once Dashboard:Trace is on.
        using var streaming = await _http.GetAsync($"http://127.0.0.1:{open.HttpPort}/dashboard/Trace", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(System.Net.HttpStatusCode.OK, streaming.StatusCode);
        using var reader = new StreamReader(await streaming.Content.ReadAsStreamAsync());
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new System.Text.StringBuilder();
        while (!seen.ToString().Contains(StreamBanner, StringComparison.Ordinal) && await reader.ReadLineAsync(deadline.Token) is { } line)
        {
            seen.AppendLine(line);
        }

        Assert.Contains(StreamBanner, seen.ToString());
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        foreach (var simulator in _simulators)
        {
            await simulator.DisposeAsync();
        }
    }

    private async Task<SiloProcess> StartSiloAsync(params (string Key, string Value)[] extra)
    {
        var simulator = await SimulatorServer.StartAsync(new SimulatorOptions { Parallel = 2, TimeScale = 0.001 });
        _simulators.Add(simulator);
        var queue = LlmClusterOptions.NewQueueName();
        var settings = new Dictionary<string, string>
        {
            ["Redis:ConnectionString"] = redis.ConnectionString,
            ["Orleans:ClusterId"] = queue,
            ["Queue:Name"] = queue,
            ["Ollama:Url"] = simulator.Url.ToString(),
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
}
