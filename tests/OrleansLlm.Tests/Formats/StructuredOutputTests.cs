using Xunit.Abstractions;
using System.Text.Json;
using OllamaSim;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Formats;

/// <summary>
/// Structured output, end to end: the simulators break the schema at a set rate; a broken answer is asked again once
/// with the error, then dead-lettered with the error and the answer.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class StructuredOutputTests(RedisServer redis, ITestOutputHelper output)
{
    private const string Prompt = "Who is the mayor of {city}?";

    [Theory]
    [InlineData(SimulatorApi.Ollama)]
    [InlineData(SimulatorApi.OpenAI)]
    public async Task EveryAnswerBreaksTheSchema_AskedOnceMoreWithTheError_ThenDeadLetteredWithErrorAndAnswer(SimulatorApi api)
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Simulator = i => BatchRequests.Simulator(i, new FaultOptions { SchemaViolationRate = 1 });
            o.Api = api;
        });
        var cities = await Cities.LoadAsync(12);

        var progress = await BatchRequests.SubmitAndWaitAsync(cluster, "broken", new BatchSpec(Prompt, null, Format: BatchRequests.MayorSchema), cities);

        Assert.Equal(0, progress.Done);
        Assert.Equal(12, progress.DeadLettered);
        var requests = BatchRequests.Requests(cluster);
        foreach (var city in cities.Select(c => Cities.Name(JsonDocument.Parse(c.Json).RootElement)))
        {
            var asked = requests.Where(r => r.Prompt!.StartsWith($"Who is the mayor of {city}?", StringComparison.Ordinal)).ToList();
            // Twice, never more: the second time with the first answer's error appended to the prompt.
            Assert.Equal(2, asked.Count);
            Assert.Equal($"Who is the mayor of {city}?", asked[0].Prompt);
            Assert.StartsWith($"Who is the mayor of {city}?\n\nYour previous answer was refused: the answer does not match the schema: ", asked[1].Prompt);
            Assert.Equal(asked[0].Format!.Value.GetRawText(), asked[1].Format!.Value.GetRawText());
        }

        var dead = (await cluster.DeadLettersAsync()).Where(d => d.GetProperty("batch").GetString() == "broken").ToList();
        Assert.Equal(12, dead.Count);
        foreach (var letter in dead)
        {
            Assert.Equal("answer does not match the batch's format", letter.GetProperty("reason").GetString());
            Assert.StartsWith("the answer does not match the schema: ", letter.GetProperty("error").GetString());
            // The raw answer is kept, and it really breaks the schema.
            var answer = JsonDocument.Parse(letter.GetProperty("answer").GetString()!).RootElement;
            Assert.False(BatchRequests.Validate(BatchRequests.MayorSchema, answer).IsValid);
            Assert.Equal(1, letter.GetProperty("attempts").GetInt32());
        }

        output.WriteLine(dead[0].GetRawText());
        // The tokens of answers that were thrown away were still spent.
        Assert.True((await cluster.Client.GetGrain<IBatchGrain>("broken").GetUsageAsync()).CompletionTokens > 0);
    }

    [Fact]
    public async Task HalfTheAnswersBreakTheSchema_RetriedAnswersThatHoldAreKept_OnlyTwiceBrokenAreDeadLettered()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
            o.Simulator = i => BatchRequests.Simulator(i, new FaultOptions { SchemaViolationRate = 0.5 }));
        var cities = await Cities.LoadAsync(60);

        var progress = await BatchRequests.SubmitAndWaitAsync(cluster, "half", new BatchSpec(Prompt, "answer", Format: BatchRequests.MayorSchema), cities);

        var results = await cluster.ResultsAsync("half");
        var dead = (await cluster.DeadLettersAsync()).Where(d => d.GetProperty("batch").GetString() == "half").ToList();
        Assert.Equal(60, results.Count + dead.Count);
        Assert.Equal(progress.Done, results.Count);
        var requests = BatchRequests.Requests(cluster);
        var retriedAndKept = 0;
        foreach (var city in cities)
        {
            var name = Cities.Name(JsonDocument.Parse(city.Json).RootElement);
            var asked = requests.Count(r => r.Prompt!.StartsWith($"Who is the mayor of {name}?", StringComparison.Ordinal));
            if (results.TryGetValue(city.Id, out var result))
            {
                // Every kept answer holds to the schema, whether it took one call or two.
                Assert.True(BatchRequests.Validate(BatchRequests.MayorSchema, result.GetProperty("answer")).IsValid);
                Assert.InRange(asked, 1, 2);
                retriedAndKept += asked == 2 ? 1 : 0;
            }
            else
            {
                Assert.Equal(2, asked);
            }
        }

        output.WriteLine($"{results.Count} kept ({retriedAndKept} after a retry), {dead.Count} dead-lettered");
        Assert.True(retriedAndKept > 0, "some answers should hold on the second try");
        Assert.NotEmpty(dead);
    }

    [Fact]
    public async Task ChatAnswerBreaksTheSchema_AskedAgainWithTheAnswerAndTheErrorAsTheNextMessages()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
            o.Simulator = i => BatchRequests.Simulator(i, new FaultOptions { SchemaViolationRate = 1 }));
        var items = Enumerable.Range(1, 4)
            .Select(i => new BatchItem($"c{i}", $$"""{"messages":[{"role":"user","content":"Who is the mayor of Town{{i}}?"}]}"""))
            .ToList();

        var progress = await BatchRequests.SubmitAndWaitAsync(cluster, "chat-broken", new BatchSpec(null, null, Format: BatchRequests.MayorSchema, Chat: true), items);

        Assert.Equal(4, progress.DeadLettered);
        var requests = BatchRequests.Requests(cluster);
        Assert.Equal(8, requests.Count);
        Assert.All(requests, r => Assert.Equal("/api/chat", r.Path));
        // The chat's last user message is the question, then the correction after the refused answer.
        Assert.Equal(4, requests.Count(r => r.Prompt!.StartsWith("Who is the mayor of Town", StringComparison.Ordinal)));
        Assert.Equal(4, requests.Count(r => r.Prompt!.StartsWith("Your previous answer was refused: the answer does not match the schema: ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task JsonFormat_AnswersAreObjects_AndAnythingElseIsRefused()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
            o.Simulator = i => BatchRequests.Simulator(i, new FaultOptions { SchemaViolationRate = 1 }));
        var cities = await Cities.LoadAsync(5);

        var progress = await BatchRequests.SubmitAndWaitAsync(cluster, "json", new BatchSpec(Prompt, null, Format: BatchSpec.JsonFormat), cities);

        // With "json" the simulator breaks answers by cutting them off: not JSON at all.
        Assert.Equal(5, progress.DeadLettered);
        var dead = (await cluster.DeadLettersAsync()).Where(d => d.GetProperty("batch").GetString() == "json").ToList();
        Assert.All(dead, d => Assert.StartsWith("the answer is not valid JSON", d.GetProperty("error").GetString()));
        Assert.All(BatchRequests.Requests(cluster), r => Assert.Equal("\"json\"", r.Format!.Value.GetRawText()));
    }
}
