using System.Net;
using System.Text.Json;
using OrleansLlm.Client;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Cli;

/// <summary>
/// What an operator has to go on, through the real CLI and the real silo: dead letters without redis-cli, a drained
/// silo brought back without a restart, a <c>/readyz</c> that says why, progress lines that keep coming with a sane
/// rate, and a silo log that stays small.
/// </summary>
[Collection(CliClusterCollection.Name)]
[Trait("Category", "Process")]
public sealed class CliOperatorTests(CliCluster cluster, ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("orleansllm-cli-").FullName;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task Dead_ListsABatchsDeadLetters_AsATable_AndAsJsonLines()
    {
        var file = Write("cities.csv", ["city,country,id", "Lima,Peru,l1", "Zzyzx,États-Unis,z1", "Quito,Ecuador,q1"]);
        var batch = NewBatchId();
        cluster.Simulator.UpdateFaults(f => f with { FailPromptContains = "Zzyzx" });
        CliRun submit;
        try
        {
            submit = await cluster.RunAsync("submit", file, "--batch", batch, "--wait");
        }
        finally
        {
            cluster.Simulator.UpdateFaults(f => f with { FailPromptContains = null });
        }

        var table = await cluster.RunAsync("dead", batch);
        var jsonl = await cluster.RunAsync("dead", batch, "--format", "jsonl");

        output.WriteLine(submit.ToString());
        output.WriteLine(table.Stdout);
        output.WriteLine(jsonl.Stdout);
        Assert.Contains($"batch {batch} complete: 2 results, 1 dead-lettered (see 'orleansllm dead {batch}')", submit.Stderr);
        Assert.Equal(0, table.ExitCode);
        var rows = table.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, rows.Length);
        Assert.Matches(@"^AT\s+BATCH\s+ITEM\s+CITY\s+ATTEMPTS\s+SILO\s+REASON$", rows[0]);
        Assert.Matches($@"^\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+{batch}\s+z1\s+Zzyzx\s+2\s+127\.0\.0\.1:{cluster.Silo.SiloPort}@\d+\s+failed 2 attempts: Ollama returned HTTP 500", rows[1]);
        Assert.Equal($"1 dead letter in batch {batch}", Assert.Single(table.StderrLines));

        var letter = JsonDocument.Parse(Assert.Single(jsonl.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))).RootElement;
        Assert.Equal("z1", letter.GetProperty("id").GetString());
        Assert.Equal(batch, letter.GetProperty("batch").GetString());
        Assert.Equal(2, letter.GetProperty("attempts").GetInt32());
        Assert.Equal("failed 2 attempts", letter.GetProperty("reason").GetString());
        Assert.StartsWith("Ollama returned HTTP 500", letter.GetProperty("error").GetString());
        Assert.Equal("États-Unis", letter.GetProperty("item").GetProperty("country").GetString());
        Assert.Contains("\"country\":\"États-Unis\"", jsonl.Stdout);
    }

    [Fact]
    public async Task Dead_PagesThroughTheWholeList_RawAndUnreadableItemsIncluded()
    {
        // More than one page (500) of raw items the prompt can't fill, and one payload that is not JSON at all.
        var marker = Guid.NewGuid().ToString("N")[..8];
        var ids = Enumerable.Range(0, 1200).Select(i => $"{marker}-{i}").ToArray();
        var raw = cluster.Keys.DeadLetters(BatchIds.Default);
        var entries = await cluster.Db.ListLengthAsync(raw);
        // Entries 'retry' put back in the queue (other tests') keep their place in the list but are no longer listed.
        var before = (await QueueHandle.DeadLettersAsync(cluster.Db, cluster.Keys)).Count(e => !e.TryGetProperty("retried", out _));
        await cluster.Db.ListRightPushAsync(cluster.Keys.Ready, [.. ids.Select(id => (RedisValue)$"{{\"id\":\"{id}\",\"country\":\"Perú\"}}"), $"not json {marker}"]);
        await Eventually.TrueAsync(async () => await cluster.Db.ListLengthAsync(raw) == entries + ids.Length + 1, "every pushed item to be dead-lettered");

        var run = await cluster.RunAsync("dead", "--format", "jsonl");

        Assert.Equal(0, run.ExitCode);
        var letters = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(before + ids.Length + 1, letters.Length);
        var mine = letters.Where(l => l.GetProperty("id").GetString()?.StartsWith(marker, StringComparison.Ordinal) == true).ToArray();
        Assert.Equal(ids.Order(StringComparer.Ordinal), mine.Select(l => l.GetProperty("id").GetString()!).Order(StringComparer.Ordinal));
        Assert.All(mine, l => Assert.Equal("malformed item: missing field 'city' required by the prompt template", l.GetProperty("reason").GetString()));
        var notJson = Assert.Single(letters, l => l.GetProperty("item").ValueKind == JsonValueKind.String && l.GetProperty("item").GetString() == $"not json {marker}");
        Assert.Equal(JsonValueKind.Null, notJson.GetProperty("id").ValueKind);
        Assert.Equal(BatchIds.Default, notJson.GetProperty("batch").GetString());
    }

    [Fact]
    public async Task Dead_UnknownBatch_IsAnError()
    {
        var run = await cluster.RunAsync("dead", "no-such-batch");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("error: no batch no-such-batch (see 'orleansllm status' for the recent ones)", Assert.Single(run.StderrLines));
    }

    [Fact]
    public async Task DrainedSilo_Undrain_TakesWorkAgain_AndIsReadyAgain()
    {
        var silo = $"127.0.0.1:{cluster.Silo.SiloPort}@";
        try
        {
            var drain = await cluster.RunAsync("drain", silo);
            Assert.True(drain.ExitCode == 0, drain.ToString());
            await Eventually.TrueAsync(async () => (await ReadyAsync()).Status == HttpStatusCode.ServiceUnavailable, "/readyz to turn 503");
            await Eventually.TrueAsync(async () => (await ReadyAsync()).Body.Contains("\"reason\":\"drained:", StringComparison.Ordinal), "/readyz to say the worker is drained");
            var (_, drained) = await ReadyAsync();
            output.WriteLine(drained);
            Assert.Equal(
                "{\"status\":\"Unhealthy\",\"checks\":[{\"name\":\"worker\",\"ok\":false,\"reason\":\"drained: the worker takes no work\"},{\"name\":\"breaker\",\"ok\":true},{\"name\":\"ollama\",\"ok\":true},{\"name\":\"model\",\"ok\":true}]}",
                drained);

            var undrain = await cluster.RunAsync("undrain", silo);

            output.WriteLine(undrain.ToString());
            Assert.Equal(0, undrain.ExitCode);
            Assert.Matches($@"^127\.0\.0\.1:{cluster.Silo.SiloPort}@\d+ is active again$", undrain.Stdout.Trim());
            await Eventually.TrueAsync(async () => (await ReadyAsync()).Status == HttpStatusCode.OK, "/readyz to turn 200 again");
            await Eventually.TrueAsync(() => cluster.Silo.Output.Contains("undrained: it takes work again", StringComparison.Ordinal), "the silo to log the undrain");
        }
        finally
        {
            // Whatever happened, leave the shared silo working.
            await cluster.RunAsync("undrain", silo);
        }

        // The one silo does the work again.
        var file = Write("cities.csv", File.ReadLines(Cities.DataFile).Take(11));
        var submit = await cluster.RunAsync("submit", file, "--batch", NewBatchId(), "--wait");
        Assert.True(submit.ExitCode == 0, submit.ToString());
        Assert.Contains("complete: 10 results, 0 dead-lettered", submit.Stderr);

        var again = await cluster.RunAsync("undrain", silo);
        Assert.Equal(0, again.ExitCode);
        Assert.EndsWith("was not drained; nothing to do", again.Stdout.Trim());
    }

    [Fact]
    public async Task Undrain_WhileStillDraining_IsRefused_ThenWorksOnceDrained()
    {
        var silo = $"127.0.0.1:{cluster.Silo.SiloPort}@";
        var batch = NewBatchId();
        var file = Write("one.csv", ["city,id", "Lima,l1"]);
        await using var connection = await ClusterConnection.ConnectAsync(new ClientSettings(cluster.Redis.ConnectionString, "orleansllm", "orleansllm"), CancellationToken.None);
        cluster.Simulator.UpdateFaults(f => f with { HangRate = 1 });
        try
        {
            // One call that never answers keeps the drain going until its timeout. 'drain' gives Worker:DrainTimeout,
            // 3 s here, less than a CLI process can take to start on a loaded machine; so the drain is asked for here,
            // with a timeout no test reaches, and it can't end on its own before the undrain is tried.
            Assert.Equal(0, (await cluster.RunAsync("submit", file, "--batch", batch)).ExitCode);
            await Eventually.TrueAsync(async () => await cluster.Db.HashLengthAsync(cluster.Keys.Owners) > 0, "the item to be leased");
            var address = (await connection.Client.GetCoordinator().GetClusterAsync()).Workers.Single(w => w.Status.Silo.StartsWith(silo, StringComparison.Ordinal)).Status.Silo;
            await connection.Client.GetGrain<IWorkerGrain>(address).DrainAsync(TimeSpan.FromHours(1));

            var early = await cluster.RunAsync("undrain", silo);

            output.WriteLine(early.ToString());
            Assert.Equal(1, early.ExitCode);
            Assert.Matches($@"^error: Worker 127\.0\.0\.1:{cluster.Silo.SiloPort}@\d+ is still draining \(1 in flight\); undrain it once it is drained\.$", Assert.Single(early.StderrLines));
        }
        finally
        {
            // Whatever happened, end the drain and leave the shared silo working: a restart of Ollama cuts the hung
            // call off, which leaves the drain nothing in flight to wait for.
            cluster.Simulator.UpdateFaults(f => f with { HangRate = 0 });
            await cluster.Simulator.RestartAsync();
            await Eventually.TrueAsync(async () => (await cluster.RunAsync("undrain", silo)).ExitCode == 0, "the worker to be undrained");
        }

        // The item whose call was cut off is done after all.
        await Eventually.TrueAsync(async () => (await cluster.RunAsync("status", batch)).Stdout.Contains("complete", StringComparison.Ordinal), "the item to complete");
    }

    [Fact]
    public async Task Readyz_NamesEachCheck_AndWhyItFailed()
    {
        var (status, body) = await ReadyAsync();
        output.WriteLine(body);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("{\"status\":\"Healthy\",\"checks\":[{\"name\":\"worker\",\"ok\":true},{\"name\":\"breaker\",\"ok\":true},{\"name\":\"ollama\",\"ok\":true},{\"name\":\"model\",\"ok\":true}]}", body);

        cluster.Simulator.DeleteModel("qwen2:1.5b");
        try
        {
            (status, body) = await ReadyAsync();
        }
        finally
        {
            cluster.Simulator.PullModel("qwen2:1.5b");
        }

        output.WriteLine(body);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        var model = Check(body, "model");
        Assert.False(model.GetProperty("ok").GetBoolean());
        Assert.Equal($"model missing: Ollama at {cluster.Simulator.Url} does not have the model qwen2:1.5b yet", model.GetProperty("reason").GetString());

        await cluster.Simulator.StopAsync();
        try
        {
            (status, body) = await ReadyAsync();
        }
        finally
        {
            await cluster.Simulator.RestartAsync();
        }

        output.WriteLine(body);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.StartsWith($"Ollama unreachable: Ollama at {cluster.Simulator.Url} does not answer", Check(body, "ollama").GetProperty("reason").GetString());
        Assert.True(Check(body, "worker").GetProperty("ok").GetBoolean());
        await Eventually.TrueAsync(async () => (await ReadyAsync()).Status == HttpStatusCode.OK, "/readyz to turn 200 once Ollama is back");
    }

    [Fact]
    public async Task Progress_InLogMode_FirstLineHasNoRate_AndLinesComeRegularly()
    {
        var file = Write("cities.csv", File.ReadLines(Cities.DataFile).Take(301));
        var batch = NewBatchId();

        var run = await cluster.RunAsync("submit", file, "--batch", batch, "--wait");

        output.WriteLine(run.ToString());
        Assert.Equal(0, run.ExitCode);
        var progress = run.StderrLines.Where(l => l.StartsWith('[')).ToArray();
        // Items done while the batch was being submitted are not a rate: the first line, at time zero, has none.
        Assert.Contains("| -/s, elapsed 00:00", progress[0]);
        Assert.Contains("300/300", progress[^1]);
        Assert.Contains($"batch {batch} complete: 300 results, 0 dead-lettered", run.Stderr);
    }

    [Fact]
    public async Task SiloLog_AtItsShippedLevels_ShowsItsOwnEvents_AndNoLinePerItem()
    {
        // The silo was started from the tests' directory, not its own: its appsettings.json still applies.
        Assert.Contains("info: OrleansLlm.Worker.WorkerGrain", cluster.Silo.Output);
        Assert.Contains("started: Ollama", cluster.Silo.Output);
        Assert.DoesNotContain("Orleans.Runtime.SiloOptionsLogger", cluster.Silo.Output);
        Assert.DoesNotContain("Polly", cluster.Silo.Output);

        const int items = 1000;
        var file = Write("cities.csv", File.ReadLines(Cities.DataFile).Take(items + 1));
        var before = cluster.Silo.Output.Length;
        var run = await cluster.RunAsync("submit", file, "--batch", NewBatchId(), "--wait");
        Assert.True(run.ExitCode == 0, run.ToString());
        var written = cluster.Silo.Output[before..];

        output.WriteLine($"{items} items: the silo logged {written.Length} characters ({(double)written.Length / items:F2} per item):\n{written}");
        // A line per item would be over 100 characters each; what is left is per batch and per state change.
        Assert.True(written.Length < 2_000, $"the silo logged {written.Length} characters for {items} items");
    }

    public void Dispose()
    {
        _http.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static string NewBatchId() => $"t-{Guid.NewGuid():N}"[..14];

    private static JsonElement Check(string body, string name) =>
        JsonDocument.Parse(body).RootElement.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private async Task<(HttpStatusCode Status, string Body)> ReadyAsync()
    {
        using var response = await _http.GetAsync($"http://127.0.0.1:{cluster.Silo.HttpPort}/readyz");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private string Write(string name, IEnumerable<string> lines)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }
}
