using System.Net;

namespace OllamaSim.Tests;

/// <summary>Each fault the product's fault matrix needs, switched on and off at runtime through POST /sim/faults.</summary>
public sealed class FaultMatrixTests
{
    [Theory]
    [InlineData("errorRate", 500, "simulated failure")]
    [InlineData("unavailableRate", 503, "server busy")]
    [InlineData("midstreamErrorRate", 500, "simulated mid-stream failure")]
    public async Task A_fault_set_over_http_hits_every_request_until_cleared(string fault, int status, string error)
    {
        await using var server = await SimulatorServer.StartAsync(new SimulatorOptions { TimeScale = 0 });
        using var http = new HttpClient { BaseAddress = server.Url };
        var request = new { model = "qwen2:1.5b", prompt = "hi", stream = false };
        Assert.Equal(HttpStatusCode.OK, (await SimHttp.PostAsync(http, "/api/generate", request)).Status);

        Assert.Equal(HttpStatusCode.OK, (await SimHttp.SendAsync(http, HttpMethod.Post, "/sim/faults", $$"""{"{{fault}}":1}""")).Status);
        for (var i = 0; i < 3; i++)
        {
            var (code, body) = await SimHttp.PostAsync(http, "/api/generate", request);
            Assert.Equal(status, (int)code);
            Assert.Equal(error, SimHttp.Error(body));
        }

        await SimHttp.SendAsync(http, HttpMethod.Post, "/sim/faults", $$"""{"{{fault}}":0}""");
        Assert.Equal(HttpStatusCode.OK, (await SimHttp.PostAsync(http, "/api/generate", request)).Status);
    }

    [Fact]
    public async Task A_hang_set_over_http_holds_the_slot_until_the_client_gives_up()
    {
        await using var server = await SimulatorServer.StartAsync(new SimulatorOptions { TimeScale = 0 });
        using var http = new HttpClient { BaseAddress = server.Url };
        await SimHttp.SendAsync(http, HttpMethod.Post, "/sim/faults", """{"hangRate":1}""");
        using var cts = new CancellationTokenSource();

        var hung = http.PostAsync("/api/generate", OllamaSharpTests.Json("""{"model":"qwen2:1.5b","prompt":"hi","stream":false}"""), cts.Token);
        await Eventually.TrueAsync(() => server.GetStats().BusySlots == 1, "the hung request to hold the slot");
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => hung);
        await Eventually.TrueAsync(() => server.GetStats() is { BusySlots: 0, Failed: 1 }, "the slot to be freed");
    }

    [Fact]
    public async Task A_missing_model_is_made_with_delete_and_undone_with_pull()
    {
        await using var server = await SimulatorServer.StartAsync(new SimulatorOptions { TimeScale = 0 });
        using var http = new HttpClient { BaseAddress = server.Url };
        var request = new { model = "qwen2:1.5b", prompt = "hi", stream = false };

        await SimHttp.SendAsync(http, HttpMethod.Delete, "/api/delete", """{"model":"qwen2:1.5b"}""");
        Assert.Equal(HttpStatusCode.NotFound, (await SimHttp.PostAsync(http, "/api/generate", request)).Status);

        await SimHttp.PostOkAsync(http, "/api/pull", new { model = "qwen2:1.5b", stream = false });
        Assert.Equal(HttpStatusCode.OK, (await SimHttp.PostAsync(http, "/api/generate", request)).Status);
    }
}
