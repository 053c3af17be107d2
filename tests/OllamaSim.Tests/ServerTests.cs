using System.Net;
using System.Text.Json;

namespace OllamaSim.Tests;

/// <summary>The capacity model and statistics seen through HTTP, plus determinism across instances.</summary>
public sealed class ServerTests
{
    private static async Task<JsonElement> PostGenerate(HttpClient http, string prompt)
    {
        var body = JsonSerializer.Serialize(new Dictionary<string, object> { ["model"] = "qwen2:1.5b", ["prompt"] = prompt, ["stream"] = false });
        using var response = await http.PostAsync("/api/generate", OllamaSharpTests.Json(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    [Fact]
    public async Task Requests_beyond_the_slots_queue_fifo_and_show_in_stats()
    {
        // Nearly stopped hardware: requests hold their slots until the speed goes up again, so the
        // queue can be observed without racing the clock.
        await using var server = await SimulatorServer.StartAsync(new SimulatorOptions { Parallel = 1, TimeScale = 0.01, Speed = 1e-6 });
        using var http = new HttpClient { BaseAddress = server.Url };

        var first = PostGenerate(http, "Who is the mayor of Oslo?");
        await Eventually.TrueAsync(() => server.GetStats().BusySlots == 1, "the first request to take the only slot");
        var second = PostGenerate(http, "Who is the mayor of Bergen?");
        await Eventually.TrueAsync(() => server.GetStats().QueueDepth == 1, "the second request to queue");
        var third = PostGenerate(http, "Who is the mayor of Turku?");
        await Eventually.TrueAsync(() => server.GetStats().QueueDepth == 2, "the third request to queue");

        // /sim/stats answers while the slot is busy and the queue non-empty.
        using (var stats = await http.GetAsync("/sim/stats"))
        {
            var json = JsonDocument.Parse(await stats.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(1, json.GetProperty("busySlots").GetInt32());
            Assert.Equal(2, json.GetProperty("queueDepth").GetInt32());
            Assert.Equal(3, json.GetProperty("received").GetInt64());
        }

        using (var speed = await http.PostAsync("/sim/speed", OllamaSharpTests.Json("""{"speed":1000}""")))
        {
            Assert.Equal(HttpStatusCode.OK, speed.StatusCode);
        }

        var results = await Task.WhenAll(first, second, third);

        var finished = results.Select(r => r.GetProperty("created_at").GetDateTime()).ToArray();
        Assert.True(finished[0] < finished[1] && finished[1] < finished[2], "served in arrival order");
        var s = await SettledStats.OfAsync(server.GetStats);
        Assert.Equal((3, 3, 0, 0, 0), (s.Received, s.Served, s.Failed, s.BusySlots, s.QueueDepth));
        Assert.Equal(3, s.QueueWaitSeconds.Count);
        Assert.True(s.QueueWaitSeconds.P99 > 0 && s.QueueWaitSeconds.Sum > 0);
        Assert.Equal(1000, s.Speed);
    }

    [Fact]
    public async Task Busy_slot_seconds_track_model_time_and_reset_zeroes_them()
    {
        await using var server = await SimulatorServer.StartAsync(new SimulatorOptions { Parallel = 2, TimeScale = 0.002 });
        using var http = new HttpClient { BaseAddress = server.Url };

        var prompts = Enumerable.Range(0, 4).Select(i => $"Who is the mayor of Town{i}?").ToList();
        await Task.WhenAll(prompts.Select(p => PostGenerate(http, p)));

        var stats = await SettledStats.OfAsync(server.GetStats);
        Assert.Equal(4, stats.Served);
        // Each request computes for at least its solo time × scale (more while sharing), and busy
        // slots can never exceed parallel × elapsed.
        var minimum = prompts.Sum(SimulatedModel.SoloSecondsFor) * 0.002;
        Assert.True(stats.BusySlotSeconds >= minimum * 0.99, $"busySlotSeconds {stats.BusySlotSeconds} >= {minimum}");
        Assert.True(stats.BusySlotSeconds <= stats.Parallel * stats.ElapsedSeconds);
        Assert.InRange(stats.Utilisation, 0, 1);

        using var reset = await http.PostAsync("/sim/reset", null);
        var after = JsonDocument.Parse(await reset.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(0, after.GetProperty("received").GetInt64());
        Assert.Equal(0, after.GetProperty("served").GetInt64());
        Assert.Equal(0, after.GetProperty("queueWaitSeconds").GetProperty("count").GetInt32());
        Assert.True(after.GetProperty("busySlotSeconds").GetDouble() < 0.01);
    }

    [Fact]
    public async Task Stats_json_has_the_documented_shape()
    {
        await using var server = await SimulatorServer.StartAsync(new SimulatorOptions { Parallel = 3, TimeScale = 0.5, Speed = 2 });
        using var http = new HttpClient { BaseAddress = server.Url };

        var json = JsonDocument.Parse(await http.GetStringAsync("/sim/stats")).RootElement;

        foreach (var name in new[] { "parallel", "busySlots", "queueDepth", "received", "served", "failed", "busySlotSeconds", "queueWaitSeconds", "modelTimeScale", "speed" })
        {
            Assert.True(json.TryGetProperty(name, out _), $"stats has {name}");
        }

        foreach (var name in new[] { "count", "sum", "p50", "p99" })
        {
            Assert.True(json.GetProperty("queueWaitSeconds").TryGetProperty(name, out _), $"queueWaitSeconds has {name}");
        }

        Assert.Equal(3, json.GetProperty("parallel").GetInt32());
        Assert.Equal(0.5, json.GetProperty("modelTimeScale").GetDouble());
        Assert.Equal(2, json.GetProperty("speed").GetDouble());
    }

    [Fact]
    public async Task Set_speed_is_visible_in_process_and_over_http()
    {
        await using var server = await SimulatorServer.StartAsync(new SimulatorOptions { TimeScale = 0 });
        using var http = new HttpClient { BaseAddress = server.Url };

        server.SetSpeed(1.0 / 3);
        var speed = JsonDocument.Parse(await http.GetStringAsync("/sim/speed")).RootElement.GetProperty("speed").GetDouble();

        Assert.Equal(1.0 / 3, speed, precision: 9);
        using var bad = await http.PostAsync("/sim/speed", OllamaSharpTests.Json("""{"speed":0}"""));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Same_prompt_gives_the_same_answer_on_two_instances()
    {
        await using var a = await SimulatorServer.StartAsync(new SimulatorOptions { TimeScale = 0 });
        await using var b = await SimulatorServer.StartAsync(new SimulatorOptions { TimeScale = 0 });
        using var httpA = new HttpClient { BaseAddress = a.Url };
        using var httpB = new HttpClient { BaseAddress = b.Url };
        Assert.NotEqual(a.Url, b.Url);

        foreach (var prompt in new[] { SimulatedModel.ReferencePrompt, "Who is the mayor of Ghent?", "Tell me a joke." })
        {
            var answerA = (await PostGenerate(httpA, prompt)).GetProperty("response").GetString();
            var answerB = (await PostGenerate(httpB, prompt)).GetProperty("response").GetString();
            Assert.Equal(answerA, answerB);
            Assert.Equal(SimulatedModel.AnswerFor(prompt), answerA);
        }
    }

    [Fact]
    public async Task Time_scale_zero_still_counts_requests_through_the_slots()
    {
        await using var server = await SimulatorServer.StartAsync(new SimulatorOptions { TimeScale = 0, Parallel = 2 });
        using var http = new HttpClient { BaseAddress = server.Url };

        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => PostGenerate(http, $"q{i}")));

        var stats = server.GetStats();
        Assert.Equal(20, stats.Served);
        Assert.Equal(20, stats.QueueWaitSeconds.Count);
    }
}
