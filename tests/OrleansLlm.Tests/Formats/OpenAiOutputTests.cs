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
/// OpenAI batch files in and out: the official OpenAI .NET types (NuGet OpenAI, for parsing only) must read every
/// output line we write, and a real cluster must turn an OpenAI input file into that output, keyed by custom_id.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class OpenAiOutputTests(RedisServer redis, ITestOutputHelper output)
{
    private static readonly JsonElement NoInput = JsonDocument.Parse("{}").RootElement;

    [Fact]
    public void ChatResultLine_ReadByTheOfficialOpenAiTypes()
    {
        var meta = new ResultMeta("answer", "qwen2:1.5b", 1, "silo", 1_500_000_000, 41, 7, DateTimeOffset.FromUnixTimeSeconds(1_790_000_000),
            ResultDocument.ChatEndpoint, "length");
        var document = ResultDocument.Build("req-7", "b1", NoInput, "Anne Hidalgo", meta);

        var line = JsonDocument.Parse(OpenAiResultWriter.Line(ResultDocument.Read(document))).RootElement;

        Assert.Equal("req-7", line.GetProperty("custom_id").GetString());
        Assert.StartsWith("batch_req_", line.GetProperty("id").GetString());
        Assert.Equal(JsonValueKind.Null, line.GetProperty("error").ValueKind);
        var response = line.GetProperty("response");
        Assert.Equal(200, response.GetProperty("status_code").GetInt32());
        Assert.False(string.IsNullOrEmpty(response.GetProperty("request_id").GetString()));
        var completion = ModelReaderWriter.Read<ChatCompletion>(BinaryData.FromString(response.GetProperty("body").GetRawText()))!;
        Assert.Equal("Anne Hidalgo", completion.Content[0].Text);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal("qwen2:1.5b", completion.Model);
        Assert.Equal(41, completion.Usage.InputTokenCount);
        Assert.Equal(7, completion.Usage.OutputTokenCount);
        Assert.Equal(48, completion.Usage.TotalTokenCount);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_790_000_000), completion.CreatedAt);
        Assert.StartsWith("chatcmpl-", completion.Id);
        // The same result always gets the same ids.
        Assert.Equal(line.GetRawText(), JsonDocument.Parse(OpenAiResultWriter.Line(ResultDocument.Read(document))).RootElement.GetRawText());
    }

    [Fact]
    public void StructuredResult_ContentIsTheModelsOwnText()
    {
        var meta = new ResultMeta("answer", "m", 1, "silo", 1, 1, 1, DateTimeOffset.UnixEpoch, ResultDocument.ChatEndpoint, "stop");
        const string raw = "{ \"mayor\": \"Anne Hidalgo\" }";
        var document = ResultDocument.BuildStructured("x", "b", NoInput, JsonDocument.Parse(raw).RootElement, raw, meta);

        var body = JsonDocument.Parse(OpenAiResultWriter.Line(ResultDocument.Read(document))).RootElement.GetProperty("response").GetProperty("body");

        var completion = ModelReaderWriter.Read<ChatCompletion>(BinaryData.FromString(body.GetRawText()))!;
        Assert.Equal(raw, completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
    }

    [Fact]
    public void ErrorLine_HasNoResponse_AndTheCodeAndMessage()
    {
        var dead = new DeadLetter("b", "req-3", "answer does not match the batch's format", "the answer does not match the schema: at /mayor: required",
            1, "silo", DateTimeOffset.UnixEpoch, "{}", "{\"confidence\":1}");

        var line = JsonDocument.Parse(OpenAiErrorWriter.Line(dead)).RootElement;

        Assert.Equal("req-3", line.GetProperty("custom_id").GetString());
        Assert.Equal(JsonValueKind.Null, line.GetProperty("response").ValueKind);
        Assert.Equal("invalid_structured_output", line.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(
            "answer does not match the batch's format: the answer does not match the schema: at /mayor: required; the model answered: {\"confidence\":1}",
            line.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(OpenAiBatchIdsOf("b", "req-3"), line.GetProperty("id").GetString());
    }

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

    private static string OpenAiBatchIdsOf(string batch, string item) =>
        JsonDocument.Parse(OpenAiErrorWriter.Line(new DeadLetter(batch, item, "r", null, 0, "", DateTimeOffset.UnixEpoch, "{}"))).RootElement.GetProperty("id").GetString()!;
}
