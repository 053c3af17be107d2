using Xunit.Abstractions;
using System.Text.Json;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Formats;

/// <summary>
/// Per-batch request options and token accounting, end to end: a real two-silo cluster, real Redis, simulators
/// recording every request.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class BatchOptionsTests(RedisServer redis, ITestOutputHelper output)
{
    [Fact]
    public async Task BatchOptions_EveryItemSendsTheSameModelOptionsSystemAndFormat()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o => o.Simulator = i => BatchRequests.Simulator(i));
        var cities = await Cities.LoadAsync(40);
        var spec = new BatchSpec(
            "Who is the mayor of {city}?", "answer",
            Model: BatchRequests.OtherModel,
            Options: new GenerationOptions(Temperature: 0.2, Seed: 7, NumCtx: 4096, NumPredict: 200, Stop: ["\n\n", "###"], TopP: 0.9),
            SystemPrompt: "Answer in JSON.",
            Format: BatchRequests.MayorSchema);

        var progress = await BatchRequests.SubmitAndWaitAsync(cluster, "opts", spec, cities);

        Assert.Equal(40, progress.Done);
        var requests = BatchRequests.Requests(cluster).Where(r => r.Prompt!.StartsWith("Who is the mayor of ", StringComparison.Ordinal)).ToList();
        Assert.Equal(40, requests.Count);
        Assert.All(requests, r => Assert.Equal("/api/generate", r.Path));
        Assert.All(requests, r => Assert.Equal(BatchRequests.OtherModel, r.Model));
        Assert.All(requests, r => Assert.Equal("Answer in JSON.", r.System));
        // Byte for byte the same options and format on every request, from both silos: Ollama never reloads for this batch.
        Assert.Single(requests.Select(r => r.Options!.Value.GetRawText()).Distinct());
        Assert.Single(requests.Select(r => r.Format!.Value.GetRawText()).Distinct());
        var options = requests[0].Options!.Value;
        Assert.Equal(0.2, options.GetProperty("temperature").GetDouble(), 5);
        Assert.Equal(0.9, options.GetProperty("top_p").GetDouble(), 5);
        Assert.Equal(7, options.GetProperty("seed").GetInt32());
        Assert.Equal(4096, options.GetProperty("num_ctx").GetInt32());
        Assert.Equal(200, options.GetProperty("num_predict").GetInt32());
        Assert.Equal(["\n\n", "###"], options.GetProperty("stop").EnumerateArray().Select(s => s.GetString()!));
        Assert.Equal(
            JsonSerializer.Serialize(JsonDocument.Parse(BatchRequests.MayorSchema).RootElement),
            JsonSerializer.Serialize(requests[0].Format!.Value));

        // Each answer is stored as the JSON it is, valid against the schema, with the model that gave it.
        var results = await cluster.ResultsAsync("opts");
        Assert.Equal(40, results.Count);
        foreach (var result in results.Values)
        {
            var answer = result.GetProperty("answer");
            Assert.Equal(JsonValueKind.Object, answer.ValueKind);
            Assert.True(BatchRequests.Validate(BatchRequests.MayorSchema, answer).IsValid, answer.GetRawText());
            var meta = result.GetProperty("meta");
            Assert.Equal(BatchRequests.OtherModel, meta.GetProperty("model").GetString());
            Assert.Equal("generate", meta.GetProperty("endpoint").GetString());
            Assert.Equal(JsonDocument.Parse(meta.GetProperty("raw_answer").GetString()!).RootElement.GetRawText(), answer.GetRawText());
        }
    }

    [Fact]
    public async Task BatchUsage_AddsUpEveryAnswersTokensAndTime()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o => o.Simulator = i => BatchRequests.Simulator(i));
        var cities = await Cities.LoadAsync(30);

        await BatchRequests.SubmitAndWaitAsync(cluster, "usage", new BatchSpec(null, null), cities);

        var usage = await cluster.Client.GetGrain<IBatchGrain>("usage").GetUsageAsync();
        var metas = (await cluster.ResultsAsync("usage")).Values.Select(r => r.GetProperty("meta")).ToList();
        Assert.Equal(metas.Sum(m => m.GetProperty("prompt_eval_count").GetInt64()), usage.PromptTokens);
        Assert.Equal(metas.Sum(m => m.GetProperty("eval_count").GetInt64()), usage.CompletionTokens);
        // Redis keeps whole milliseconds of each answer.
        var totalMs = metas.Sum(m => m.GetProperty("total_duration").GetInt64() / 1_000_000);
        Assert.InRange((long)usage.OllamaTime.TotalMilliseconds, totalMs - 30, totalMs + 30);
        Assert.True(usage.PromptTokens > 30 * 10, $"prompt tokens: {usage.PromptTokens}");
        Assert.True(usage.CompletionTokens > 0);
        output.WriteLine($"usage of 30 items: {usage}");

        // Another batch's figures are its own.
        Assert.Equal(TokenUsage.Zero, await cluster.Client.GetGrain<IBatchGrain>("never-created").GetUsageAsync());
    }

    [Theory]
    [InlineData("temperature", "temperature must be between 0 and 2 (was 3)")]
    [InlineData("num_ctx", "num_ctx must be at least 1 (was 0)")]
    [InlineData("schema", "Bad format: the schema must be a JSON object, not array.")]
    [InlineData("schema-type", "Bad format: the schema is not a usable JSON Schema: 'type' must be either a string or an array of strings.")]
    [InlineData("model", "'qwen 2' can't be a model name")]
    public async Task BadSpec_RefusedInOneLine_NothingCreated(string what, string expected)
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o => o.Silos = 1);
        var spec = what switch
        {
            "temperature" => new BatchSpec(null, null, Options: new GenerationOptions(Temperature: 3)),
            "num_ctx" => new BatchSpec(null, null, Options: new GenerationOptions(NumCtx: 0)),
            "schema" => new BatchSpec(null, null, Format: "[1,2]"),
            "schema-type" => new BatchSpec(null, null, Format: """{"type": 5}"""),
            _ => new BatchSpec(null, null, Model: "qwen 2"),
        };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => cluster.Client.GetGrain<IBatchGrain>("bad-" + what).CreateAsync(spec));

        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
        Assert.False((await cluster.Client.GetGrain<IBatchGrain>("bad-" + what).GetProgressAsync()).Exists);
    }
}
