using System.Net;
using System.Text.Json;

namespace OllamaSim.Tests;

public sealed class FaultTests
{
    private static Task<SimulatorServer> Start(FaultOptions faults, double timeScale = 0, int parallel = 1) =>
        SimulatorServer.StartAsync(new SimulatorOptions { TimeScale = timeScale, Parallel = parallel, Faults = faults, Seed = 42 });

    private static async Task<(HttpStatusCode Status, string Body)> Generate(
        HttpClient http, string prompt, bool stream, CancellationToken ct = default)
    {
        var body = JsonSerializer.Serialize(new Dictionary<string, object> { ["model"] = "qwen2:1.5b", ["prompt"] = prompt, ["stream"] = stream });
        using var response = await http.PostAsync("/api/generate", OllamaSharpTests.Json(body), ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(ct));
    }

    private static string[] Lines(string body) => body.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public async Task Error_rate_one_gives_500_with_a_json_error()
    {
        await using var server = await Start(new FaultOptions { ErrorRate = 1 });
        using var http = new HttpClient { BaseAddress = server.Url };

        var (status, body) = await Generate(http, "hi", stream: false);

        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("""{"error":"simulated failure"}""", body);
        var stats = await SettledStats.OfAsync(server.GetStats);
        Assert.Equal((1, 0, 1), (stats.Received, stats.Served, stats.Failed));
    }

    [Fact]
    public async Task Unavailable_rate_one_gives_503_server_busy()
    {
        await using var server = await Start(new FaultOptions { UnavailableRate = 1 });
        using var http = new HttpClient { BaseAddress = server.Url };

        var (status, body) = await Generate(http, "hi", stream: true);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("""{"error":"server busy"}""", body);
    }

    [Fact]
    public async Task No_done_rate_one_truncates_the_response()
    {
        await using var server = await Start(new FaultOptions { NoDoneRate = 1 });
        using var http = new HttpClient { BaseAddress = server.Url };

        var (streamStatus, streamBody) = await Generate(http, "Why is the sky blue?", stream: true);
        Assert.Equal(HttpStatusCode.OK, streamStatus);
        var lines = Lines(streamBody);
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.False(JsonDocument.Parse(l).RootElement.GetProperty("done").GetBoolean()));

        var (status, body) = await Generate(http, "Why is the sky blue?", stream: false);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.False(JsonDocument.Parse(body).RootElement.GetProperty("done").GetBoolean());
        Assert.Equal(2, (await SettledStats.OfAsync(server.GetStats)).Failed);
    }

    [Fact]
    public async Task Midstream_error_ends_a_stream_with_an_error_line_and_fails_non_streaming()
    {
        await using var server = await Start(new FaultOptions { MidStreamErrorRate = 1 });
        using var http = new HttpClient { BaseAddress = server.Url };

        var (streamStatus, streamBody) = await Generate(http, "Why is the sky blue?", stream: true);
        Assert.Equal(HttpStatusCode.OK, streamStatus);
        var lines = Lines(streamBody);
        Assert.True(lines.Length >= 2, "some chunks come before the error");
        Assert.True(JsonDocument.Parse(lines[^1]).RootElement.TryGetProperty("error", out _));
        Assert.DoesNotContain(lines, l => l.Contains("\"done\":true", StringComparison.Ordinal));

        var (status, body) = await Generate(http, "Why is the sky blue?", stream: false);
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.True(JsonDocument.Parse(body).RootElement.TryGetProperty("error", out _));
    }

    [Fact]
    public async Task Fail_prompt_contains_fails_exactly_the_matching_prompts_set_over_http()
    {
        await using var server = await Start(new FaultOptions());
        using var http = new HttpClient { BaseAddress = server.Url };

        using var set = await http.PostAsync("/sim/faults", OllamaSharpTests.Json("""{"failPromptContains":"mayor of Lyon"}"""));
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal("mayor of Lyon", JsonDocument.Parse(await set.Content.ReadAsStringAsync()).RootElement.GetProperty("failPromptContains").GetString());
        Assert.Equal("mayor of Lyon", server.Faults.FailPromptContains);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.InternalServerError, (await Generate(http, "Who is the mayor of Lyon?", stream: false)).Status);
            Assert.Equal(HttpStatusCode.OK, (await Generate(http, "Who is the mayor of Lille?", stream: false)).Status);
        }

        using var clear = await http.PostAsync("/sim/faults", OllamaSharpTests.Json("""{"failPromptContains":""}"""));
        Assert.Null(server.Faults.FailPromptContains);
        Assert.Equal(HttpStatusCode.OK, (await Generate(http, "Who is the mayor of Lyon?", stream: false)).Status);
    }

    [Fact]
    public async Task Invalid_fault_settings_are_rejected_with_400()
    {
        await using var server = await Start(new FaultOptions());
        using var http = new HttpClient { BaseAddress = server.Url };

        using var response = await http.PostAsync("/sim/faults", OllamaSharpTests.Json("""{"errorRate":1.5}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("error-rate", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, server.Faults.ErrorRate);
    }

    [Fact]
    public async Task Hang_holds_a_slot_until_the_client_gives_up()
    {
        await using var server = await Start(new FaultOptions { HangRate = 1 }, parallel: 1);
        using var http = new HttpClient { BaseAddress = server.Url };
        using var cts = new CancellationTokenSource();

        var hung = Generate(http, "hi", stream: false, cts.Token);
        await Eventually.TrueAsync(() => server.GetStats().BusySlots == 1, "the hung request to hold the slot");
        Assert.False(hung.IsCompleted);

        // While hung, the next request queues behind it.
        server.UpdateFaults(f => f with { HangRate = 0 });
        var queued = Generate(http, "hello", stream: false);
        await Eventually.TrueAsync(() => server.GetStats().QueueDepth == 1, "the second request to queue behind the hung one");

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => hung);
        Assert.Equal(HttpStatusCode.OK, (await queued).Status);
        await Eventually.TrueAsync(() => server.GetStats() is { BusySlots: 0, Failed: 1, Served: 1 },
            "the slot to be freed and the hung request counted as failed");
    }

    [Fact]
    public async Task Load_delay_is_paid_by_the_first_request_and_again_after_unload()
    {
        await using var server = await Start(new FaultOptions { LoadDelay = TimeSpan.FromMilliseconds(200) });
        using var http = new HttpClient { BaseAddress = server.Url };

        static long LoadNs(string body) => JsonDocument.Parse(body).RootElement.GetProperty("load_duration").GetInt64();

        Assert.True(LoadNs((await Generate(http, "hi", stream: false)).Body) >= 190_000_000, "first request waits for the load");
        Assert.True(LoadNs((await Generate(http, "hi", stream: false)).Body) < 100_000_000, "the model stays loaded");

        using var unload = await http.PostAsync("/sim/unload", null);
        Assert.True(LoadNs((await Generate(http, "hi", stream: false)).Body) >= 190_000_000, "a reload after unload");
    }

    [Fact]
    public async Task Seeded_error_rate_fails_a_share_of_requests()
    {
        await using var server = await Start(new FaultOptions { ErrorRate = 0.3 });
        using var http = new HttpClient { BaseAddress = server.Url };

        var failures = 0;
        for (var i = 0; i < 100; i++)
        {
            failures += (await Generate(http, $"question {i}", stream: false)).Status == HttpStatusCode.InternalServerError ? 1 : 0;
        }

        Assert.InRange(failures, 15, 45);
        Assert.Equal(failures, (await SettledStats.OfAsync(server.GetStats)).Failed);
    }
}
