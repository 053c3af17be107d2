using System.Text.Json;
using OllamaSim;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Observability;

/// <summary>
/// The JSON logs of a real silo process, every category at Debug, during a run on a Redis with a password: each line
/// about an item carries the item's ids as structured scope fields, and the password appears nowhere.
/// </summary>
[Trait("Category", "Process")]
public sealed class LogTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Password = "l0g-s3cret-9f2c71";
    private const string PoisonCity = "Logtown";
    private const string PoisonId = "log-poison";
    // The worker grain logs what it does with an item; its WorkerQueue logs how the item's outcome was recorded.
    private static readonly string[] WorkerCategories = ["OrleansLlm.Worker.WorkerGrain", "OrleansLlm.Worker.WorkerQueue"];
    private static readonly string[] ScopeFields = ["ItemId", "BatchId", "Silo", "Attempt", "LeaseId"];

    private RedisProcess _redis = null!;
    private SimulatorServer _simulator = null!;
    private SiloProcess? _silo;

    public async Task InitializeAsync()
    {
        _redis = await RedisProcess.StartAsync(new RedisProcessOptions { Password = Password });
        _simulator = await SimulatorServer.StartAsync(new SimulatorOptions { Parallel = 2, TimeScale = 0.001 });
        _simulator.UpdateFaults(f => f with { FailPromptContains = PoisonCity });
    }

    [Fact]
    public async Task LinesAboutAnItem_CarryItsIdsAsScopeFields_AndTheRedisPasswordAppearsNowhere()
    {
        var queue = LlmClusterOptions.NewQueueName();
        _silo = await SiloProcess.StartAsync(new Dictionary<string, string>
        {
            ["Redis:ConnectionString"] = _redis.ConnectionString,
            ["Ollama:Url"] = _simulator.Url.ToString(),
            ["Queue:Name"] = queue,
            ["Orleans:ClusterId"] = queue,
            ["Queue:MaxAttempts"] = "2",
            ["Queue:RetryBaseDelay"] = "00:00:00.050",
            ["Worker:AdaptiveConcurrency"] = "false",
            ["Worker:MaxConcurrency"] = "2",
            ["Logging:Console:FormatterName"] = "json",
            ["Logging:LogLevel:Default"] = "Debug",
            ["Logging:LogLevel:Orleans"] = "Debug",
            ["Logging:LogLevel:OrleansLlm"] = "Debug",
        });
        var items = Path.Combine(_redis.Directory, "items.jsonl");
        var cities = await Cities.LoadAsync(10);
        await File.WriteAllLinesAsync(items, cities.Select(c => c.Json).Append($$"""{"id":"{{PoisonId}}","city":"{{PoisonCity}}"}"""));
        var env = new Dictionary<string, string> { ["Redis__ConnectionString"] = _redis.ConnectionString, ["Orleans__ClusterId"] = queue };

        var submit = await CliProcess.RunAsync(["submit", items, "--batch", "logged", "--wait"], env);
        Assert.True(submit.ExitCode == 0, submit.ToString());
        // The dead letter is logged right after Redis records it, which the CLI may see first.
        await Eventually.TrueAsync(() => Lines().Any(l => IsWorker(l) && Message(l).StartsWith("Dead-lettered", StringComparison.Ordinal)), "the dead letter's log line");

        var lines = Lines().ToArray();
        output.WriteLine($"{lines.Length} JSON log lines, {_silo.Output.Length:N0} characters");
        var aboutItems = lines.Where(l => IsWorker(l) && l.TryGetProperty("State", out var state) && state.TryGetProperty("LeaseId", out _)).ToArray();
        foreach (var line in aboutItems)
        {
            output.WriteLine(line.GetRawText());
        }

        Assert.Equal(10, aboutItems.Count(l => Message(l).StartsWith("Item ", StringComparison.Ordinal)));
        Assert.Single(aboutItems, l => Message(l).StartsWith("Lease ", StringComparison.Ordinal));
        Assert.Single(aboutItems, l => Message(l).StartsWith("Dead-lettered", StringComparison.Ordinal));
        foreach (var line in aboutItems)
        {
            var scope = ItemScope(line);
            Assert.Equal(line.GetProperty("State").GetProperty("LeaseId").GetString(), scope.GetProperty("LeaseId").GetString());
            Assert.Equal("logged", scope.GetProperty("BatchId").GetString());
            Assert.True(_silo.Owns(scope.GetProperty("Silo").GetString()!), scope.GetRawText());
            var expectedItem = line.GetProperty("State").TryGetProperty("ItemId", out var stated) ? stated.GetString() : PoisonId;
            Assert.Equal(expectedItem, scope.GetProperty("ItemId").GetString());
        }

        // The poison item's two attempts: the failure under attempt 1, the dead letter under attempt 2.
        Assert.Equal(1, ItemScope(aboutItems.Single(l => Message(l).StartsWith("Lease ", StringComparison.Ordinal))).GetProperty("Attempt").GetInt32());
        Assert.Equal(2, ItemScope(aboutItems.Single(l => Message(l).StartsWith("Dead-lettered", StringComparison.Ordinal))).GetProperty("Attempt").GetInt32());

        Assert.DoesNotContain(Password, _silo.Output);
        Assert.DoesNotContain(Password, submit.Stdout + submit.Stderr);
    }

    public async Task DisposeAsync()
    {
        if (_silo is not null)
        {
            await _silo.DisposeAsync();
        }

        await _simulator.DisposeAsync();
        await _redis.DisposeAsync();
    }

    // Every line the silo wrote to stdout that is a JSON object: with FormatterName=json, all of its log lines.
    private IEnumerable<JsonElement> Lines()
    {
        foreach (var text in _silo!.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (text.StartsWith('{'))
            {
                using var doc = JsonDocument.Parse(text);
                yield return doc.RootElement.Clone();
            }
        }
    }

    private static bool IsWorker(JsonElement line) => WorkerCategories.Contains(line.GetProperty("Category").GetString());

    private static string Message(JsonElement line) => line.GetProperty("Message").GetString()!;

    // The scope the worker opens for each item: the one with all five fields.
    private static JsonElement ItemScope(JsonElement line) =>
        line.GetProperty("Scopes").EnumerateArray().SingleOrDefault(s => s.ValueKind == JsonValueKind.Object && ScopeFields.All(f => s.TryGetProperty(f, out _))) is { ValueKind: JsonValueKind.Object } scope
            ? scope
            : throw new Xunit.Sdk.XunitException($"no item scope on {line.GetRawText()}");
}
