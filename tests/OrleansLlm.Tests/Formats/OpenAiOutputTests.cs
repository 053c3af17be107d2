using System.ClientModel.Primitives;
using System.Text.Json;
using OllamaSim;
using OpenAI.Chat;
using OrleansLlm.Client;
using OrleansLlm.Client.Input;
using OrleansLlm.Client.Output;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Formats;

/// <summary>
/// OpenAI batch files in and out through a real cluster: an OpenAI input file comes back as the output the official
/// OpenAI .NET types read (<see cref="OpenAiOutputLineTests"/> checks the lines themselves), keyed by custom_id.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class OpenAiOutputTests(RedisServer redis, ITestOutputHelper output)
{
    [Fact]
    public async Task ChatFile_ThroughARealCluster_EveryCustomIdComesBackAsAChatCompletion()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o => o.Simulator = i => BatchRequests.Simulator(i));
        var dir = Directory.CreateTempSubdirectory("openai-in-").FullName;
        var path = Path.Combine(dir, "requests.jsonl");
        var cities = (await Cities.LoadAsync(25)).Select(c => Cities.Name(JsonDocument.Parse(c.Json).RootElement)).ToList();
        await File.WriteAllLinesAsync(path, cities.Select((city, i) => JsonSerializer.Serialize(new
        {
            custom_id = $"request-{i + 1}",
            method = "POST",
            url = "/v1/chat/completions",
            body = new
            {
                model = "gpt-4o-mini",
                messages = new object[] { new { role = "system", content = "You are a civic encyclopedia." }, new { role = "user", content = $"Who is the mayor of {city}?" } },
                temperature = 0,
                max_tokens = 64,
            },
        })));

        var overrides = new OpenAiBatchOverrides(Model: "qwen2:1.5b");
        var batch = await OpenAiBatchReader.CheckAsync(path, overrides, limit: null, CancellationToken.None);
        Assert.Empty(batch.Errors);
        await BatchRequests.SubmitAndWaitAsync(cluster, "openai-chat", batch.Spec, await OpenAiBatchReader.ReadItemsAsync(path, overrides, limit: null, CancellationToken.None).ToListAsync());
        var lines = new StringWriter();
        var written = await OpenAiResultWriter.WriteAsync(BatchResults.ReadAsync(cluster.Client.GetGrain<IBatchGrain>("openai-chat"), CancellationToken.None), lines, CancellationToken.None);

        Assert.Equal(25, written);
        var outputLines = lines.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        output.WriteLine(outputLines[0]);
        Assert.Equal(Enumerable.Range(1, 25).Select(i => $"request-{i}"), outputLines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("custom_id").GetString()));
        foreach (var (line, city) in outputLines.Zip(cities))
        {
            var body = JsonDocument.Parse(line).RootElement.GetProperty("response").GetProperty("body").GetRawText();
            var completion = ModelReaderWriter.Read<ChatCompletion>(BinaryData.FromString(body))!;
            Assert.Equal(SimulatedModel.AnswerFor($"Who is the mayor of {city}?").Trim(), completion.Content[0].Text);
            Assert.Equal("qwen2:1.5b", completion.Model);
            Assert.True(completion.Usage.InputTokenCount > 0 && completion.Usage.OutputTokenCount > 0);
        }

        // Ollama's chat got each conversation with the system message, and every request the same options.
        var requests = BatchRequests.Requests(cluster).Where(r => r.Path == "/api/chat").ToList();
        Assert.Equal(25, requests.Count);
        Assert.All(requests, r => Assert.Equal("You are a civic encyclopedia.", r.System));
        Assert.Single(requests.Select(r => r.Options!.Value.GetRawText()).Distinct());
        Assert.Equal(
            new Dictionary<string, string> { ["temperature"] = "0", ["num_predict"] = "64" },
            requests[0].Options!.Value.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetRawText()));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task CompletionsFile_WithAJsonSchema_ComesBackAsTextCompletionsHoldingValidJson()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o => o.Simulator = i => BatchRequests.Simulator(i));
        var dir = Directory.CreateTempSubdirectory("openai-in-").FullName;
        var path = Path.Combine(dir, "requests.jsonl");
        var schema = JsonDocument.Parse(BatchRequests.MayorSchema).RootElement;
        await File.WriteAllLinesAsync(path, Enumerable.Range(1, 8).Select(i => JsonSerializer.Serialize(new
        {
            custom_id = $"c{i}",
            method = "POST",
            url = "/v1/completions",
            body = new
            {
                model = "qwen2:1.5b",
                prompt = $"Who is the mayor of Town{i}?",
                response_format = new { type = "json_schema", json_schema = new { name = "mayor", strict = true, schema } },
            },
        })));

        var batch = await OpenAiBatchReader.CheckAsync(path, new OpenAiBatchOverrides(), limit: null, CancellationToken.None);
        await BatchRequests.SubmitAndWaitAsync(cluster, "openai-completions", batch.Spec, await OpenAiBatchReader.ReadItemsAsync(path, new OpenAiBatchOverrides(), limit: null, CancellationToken.None).ToListAsync());
        var lines = new StringWriter();
        await OpenAiResultWriter.WriteAsync(BatchResults.ReadAsync(cluster.Client.GetGrain<IBatchGrain>("openai-completions"), CancellationToken.None), lines, CancellationToken.None);

        var bodies = lines.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("response").GetProperty("body")).ToList();
        Assert.Equal(8, bodies.Count);
        foreach (var body in bodies)
        {
            Assert.Equal("text_completion", body.GetProperty("object").GetString());
            var text = body.GetProperty("choices")[0].GetProperty("text").GetString()!;
            Assert.True(BatchRequests.Validate(BatchRequests.MayorSchema, JsonDocument.Parse(text).RootElement).IsValid, text);
            var usage = body.GetProperty("usage");
            Assert.Equal(usage.GetProperty("prompt_tokens").GetInt64() + usage.GetProperty("completion_tokens").GetInt64(), usage.GetProperty("total_tokens").GetInt64());
        }

        Assert.All(BatchRequests.Requests(cluster), r => Assert.Equal(JsonSerializer.Serialize(schema), JsonSerializer.Serialize(r.Format!.Value)));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task DeadLetteredItems_ComeOutAsTheMatchingErrorFile()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
            o.Simulator = i => BatchRequests.Simulator(i, new FaultOptions { SchemaViolationRate = 1 }));
        var cities = await Cities.LoadAsync(6);
        await BatchRequests.SubmitAndWaitAsync(cluster, "errors", new BatchSpec("Mayor of {city}?", null, Format: BatchRequests.MayorSchema), cities);

        var lines = new StringWriter();
        var written = await OpenAiErrorWriter.WriteAsync(DeadLetters.ReadAsync(cluster.Client.GetGrain<IQueueGrain>(0), "errors", CancellationToken.None), lines, CancellationToken.None);

        Assert.Equal(6, written);
        var errors = lines.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(cities.Select(c => c.Id).Order(), errors.Select(e => e.GetProperty("custom_id").GetString()!).Order());
        Assert.All(errors, e => Assert.Equal(JsonValueKind.Null, e.GetProperty("response").ValueKind));
        Assert.All(errors, e => Assert.Equal("invalid_structured_output", e.GetProperty("error").GetProperty("code").GetString()));
        Assert.All(errors, e => Assert.Contains("; the model answered: {", e.GetProperty("error").GetProperty("message").GetString()));
    }
}
