using System.Net;
using System.Net.Sockets;

namespace OllamaSim.Tests;

/// <summary>"Connection refused": the simulator stops listening and listens again on the same port, in-process.</summary>
public sealed class RestartTests
{
    private static async Task<(HttpStatusCode Status, string Body)> Generate(HttpClient http, string prompt = "hi") =>
        await SimHttp.PostAsync(http, "/api/generate", new { model = "qwen2:1.5b", prompt, stream = false });

    private static async Task AssertRefusedAsync(HttpClient http)
    {
        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => Generate(http));
        Assert.Equal(HttpRequestError.ConnectionError, ex.HttpRequestError);
        Assert.Equal(SocketError.ConnectionRefused, Assert.IsType<SocketException>(ex.InnerException).SocketErrorCode);
    }

    [Fact]
    public async Task Stopped_the_port_refuses_connections_and_a_restart_serves_again_on_the_same_url()
    {
        await using var server = await SimulatorServer.StartAsync(new SimulatorOptions { TimeScale = 0 });
        using var http = new HttpClient { BaseAddress = server.Url };
        var url = server.Url;
        Assert.Equal(HttpStatusCode.OK, (await Generate(http)).Status);

        await server.StopAsync();

        Assert.False(server.IsListening);
        await AssertRefusedAsync(http);
        await server.StopAsync(); // stopping twice is harmless

        await server.RestartAsync();

        Assert.True(server.IsListening);
        Assert.Equal(url, server.Url);
        Assert.Equal(HttpStatusCode.OK, (await Generate(http)).Status);
        var stats = await SettledStats.OfAsync(server.GetStats);
        Assert.Equal((2, 2), (stats.Received, stats.Served)); // statistics outlive the restart
    }

    [Fact]
    public async Task State_other_than_loaded_models_survives_a_restart()
    {
        await using var server = await SimulatorServer.StartAsync(new SimulatorOptions
        {
            TimeScale = 0, Models = ["qwen2:1.5b", "llama3.2:1b"], Faults = new FaultOptions { LoadDelay = TimeSpan.FromMilliseconds(200) },
        });
        using var http = new HttpClient { BaseAddress = server.Url };
        Assert.Equal(HttpStatusCode.OK, (await Generate(http)).Status);
        Assert.True(server.DeleteModel("llama3.2:1b"));
        server.UpdateFaults(f => f with { FailPromptContains = "Lyon" });

        await server.RestartAsync();

        Assert.Equal(["qwen2:1.5b"], server.Models);
        Assert.Equal("Lyon", server.Faults.FailPromptContains);
        Assert.Single(server.GetRequests().Requests);
        // A new process loads its model again.
        Assert.Empty(SimHttp.Parse(await http.GetStringAsync("/api/ps")).GetProperty("models").EnumerateArray());
        var (status, body) = await Generate(http);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(SimHttp.Parse(body).GetProperty("load_duration").GetInt64() >= 190_000_000, "the reload pays the load delay");
    }

    [Fact]
    public async Task Stopping_cuts_off_requests_in_flight()
    {
        await using var server = await SimulatorServer.StartAsync(new SimulatorOptions
        {
            TimeScale = 0, Faults = new FaultOptions { HangRate = 1 },
        });
        using var http = new HttpClient { BaseAddress = server.Url };
        var hung = Generate(http);
        await Eventually.TrueAsync(() => server.GetStats().BusySlots == 1, "the hung request to hold the slot");

        await server.StopAsync();

        await Assert.ThrowsAnyAsync<Exception>(() => hung);
        var stats = await SettledStats.OfAsync(server.GetStats);
        Assert.Equal((0, 1, 0), (stats.BusySlots, stats.Failed, stats.Served));
    }
}
