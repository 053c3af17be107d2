using System.Text.Json;
using System.Text.Json.Nodes;
using OrleansLlm.Client.Input;

namespace OrleansLlm.Tests.Formats;

/// <summary>OpenAI batch input files read into one batch: what maps, what must agree, what is refused and how.</summary>
[Trait("Category", "Unit")]
public sealed class OpenAiBatchReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("openai-batch-").FullName;

    private static string Chat(string id, string content, string extra = "\"temperature\":0.2", string model = "gpt-4o-mini") =>
        $$$"""{"custom_id":"{{{id}}}","method":"POST","url":"/v1/chat/completions","body":{"model":"{{{model}}}","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"{{{content}}}"}],{{{extra}}}}}""";

    /// <summary>Both passes, as submit makes them: the check, then, when it found no bad line, the items, as many as it counted.</summary>
    private async Task<Read> ReadAsync(OpenAiBatchOverrides? overrides, params string[] lines)
    {
        var path = Path.Combine(_dir, "batch.jsonl");
        await File.WriteAllLinesAsync(path, lines);
        Assert.True(await OpenAiBatchReader.IsOpenAiBatchAsync(path, CancellationToken.None));
        var batch = await OpenAiBatchReader.CheckAsync(path, overrides ?? new OpenAiBatchOverrides(), limit: null, CancellationToken.None);
        var items = batch.ErrorCount == 0 ? await OpenAiBatchReader.ReadItemsAsync(path, overrides ?? new OpenAiBatchOverrides(), limit: null, CancellationToken.None).ToListAsync() : [];
        Assert.Equal(batch.ErrorCount == 0 ? batch.ItemCount : 0, items.Count);
        // Errors name the file by its full path (as ItemSource's do); the assertions read better with its name alone.
        return new Read(batch.Spec, batch.Url, [.. batch.Errors.Select(e => e.Replace(_dir + Path.DirectorySeparatorChar, string.Empty, StringComparison.Ordinal))], items);
    }

    private sealed record Read(BatchSpec Spec, string? Url, IReadOnlyList<string> Errors, IReadOnlyList<BatchItem> Items);

    [Fact]
    public async Task ChatFile_OneItemPerLine_KeyedByCustomId_OptionsAndSchemaForTheBatch()
    {
        const string schema = """{"type":"object","properties":{"mayor":{"type":"string"}},"required":["mayor"]}""";
        var format = $$$""" "response_format":{"type":"json_schema","json_schema":{"name":"mayor","strict":true,"schema":{{{schema}}}}},"temperature":0,"seed":42,"max_tokens":50,"stop":["\n"],"top_p":0.5""";

        var batch = await ReadAsync(null, Chat("paris", "Mayor of Paris?", format), "", Chat("oslo", "Mayor of Oslo?", format));

        Assert.Empty(batch.Errors);
        Assert.Equal(OpenAiBatchReader.ChatUrl, batch.Url);
        Assert.Equal(["paris", "oslo"], batch.Items.Select(i => i.Id));
        var messages = JsonDocument.Parse(batch.Items[0].Json).RootElement.GetProperty("messages");
        Assert.Equal("Mayor of Paris?", messages[1].GetProperty("content").GetString());
        var spec = batch.Spec;
        Assert.True(spec.Chat);
        Assert.Null(spec.PromptTemplate);
        Assert.Equal("gpt-4o-mini", spec.Model);
        Assert.Equal(new GenerationOptions(Temperature: 0, Seed: 42, NumPredict: 50, Stop: ["\n"], TopP: 0.5), spec.Options);
        Assert.Equal(schema, spec.Format);
    }

    [Fact]
    public async Task CompletionsFile_PromptsThroughTheirOwnTemplate_JsonObjectFormat()
    {
        var batch = await ReadAsync(
            null,
            """{"custom_id":"a","method":"POST","url":"/v1/completions","body":{"model":"m","prompt":"Say {hi}","response_format":{"type":"json_object"}}}""",
            """{"custom_id":"b","method":"POST","url":"/v1/completions","body":{"model":"m","prompt":["Say bye"],"response_format":{"type":"json_object"}}}""");

        Assert.Empty(batch.Errors);
        Assert.False(batch.Spec.Chat);
        Assert.Equal(OpenAiBatchReader.CompletionsTemplate, batch.Spec.PromptTemplate);
        Assert.Equal(BatchSpec.JsonFormat, batch.Spec.Format);
        Assert.Equal("""{"prompt":"Say {hi}"}""", batch.Items[0].Json);
        Assert.Equal("""{"prompt":"Say bye"}""", batch.Items[1].Json);
    }

    [Fact]
    public async Task MissingOrDuplicateCustomId_OneLineEach_NamingTheLine()
    {
        var batch = await ReadAsync(
            null,
            Chat("a", "one"),
            """{"method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],"temperature":0.2}}""",
            Chat("b", "two"),
            Chat("a", "three"));

        Assert.Equal(
            ["batch.jsonl:2: custom_id is missing; every line needs a non-empty string custom_id",
             "batch.jsonl:4: custom_id 'a' is also on line 1; each line needs its own"],
            batch.Errors);
    }

    [Fact]
    public async Task LinesThatDifferInModelOrOptions_Refused_NamingFieldAndLines()
    {
        var batch = await ReadAsync(
            null,
            Chat("a", "one"),
            Chat("b", "two", "\"temperature\":0.7"),
            Chat("c", "three", model: "gpt-4o"),
            Chat("d", "four", "\"temperature\":0.2,\"seed\":1"));

        Assert.Equal(3, batch.Errors.Count);
        Assert.StartsWith("batch.jsonl:2: temperature is 0.7 here, not 0.2 as on line 1: every line of a batch is sent with the same model and options (a difference makes Ollama reload the model)", batch.Errors[0]);
        Assert.StartsWith("batch.jsonl:3: model is 'gpt-4o' here, not 'gpt-4o-mini' as on line 1", batch.Errors[1]);
        Assert.StartsWith("batch.jsonl:4: seed is 1 here, not not set as on line 1", batch.Errors[2]);
    }

    [Fact]
    public async Task CommandLineValues_ReplaceTheFiles_SoTheLinesNeedNotAgreeOnThem()
    {
        var batch = await ReadAsync(
            new OpenAiBatchOverrides("qwen2:1.5b", new GenerationOptions(Temperature: 0.1, NumCtx: 8192), "Answer briefly.", """{"type":"object"}""", "reply"),
            Chat("a", "one", "\"temperature\":0.2,\"max_tokens\":10", model: "gpt-4o"),
            Chat("b", "two", "\"temperature\":0.9,\"max_tokens\":10", model: "gpt-4o-mini"));

        Assert.Empty(batch.Errors);
        Assert.Equal(new BatchSpec(null, "reply", "qwen2:1.5b", new GenerationOptions(Temperature: 0.1, NumCtx: 8192, NumPredict: 10), "Answer briefly.", """{"type":"object"}""", Chat: true), batch.Spec);
    }

    [Theory]
    [InlineData("\"tools\":[]", "body.tools is not supported")]
    [InlineData("\"n\":2", "body.n must be 1: one answer per line")]
    [InlineData("\"stream\":true", "body.stream must be false or absent")]
    [InlineData("\"frequency_penalty\":0.5", "body.frequency_penalty is not supported (only 0)")]
    [InlineData("\"temperature\":\"hot\"", "body.temperature has a value of the wrong type (\"hot\")")]
    [InlineData("\"temperature\":5", "body: temperature must be between 0 and 2 (was 5)")]
    [InlineData("\"response_format\":{\"type\":\"xml\"}", "body.response_format.type must be text, json_object or json_schema (was 'xml')")]
    [InlineData("\"response_format\":{\"type\":1}", "body.response_format.type must be text, json_object or json_schema (was 1)")]
    public async Task UnsupportedOrBadBodyFields_Refused_NeverDropped(string extra, string expected)
    {
        var batch = await ReadAsync(null, Chat("a", "one", extra));

        Assert.Equal($"batch.jsonl:1: {expected}", Assert.Single(batch.Errors).Split(" (supported:")[0]);
    }

    [Theory]
    [InlineData("method", "1", "method must be POST (was 1)")]
    [InlineData("method", "[\"POST\"]", "method must be POST (was [\"POST\"])")]
    [InlineData("url", "1", "url must be /v1/chat/completions or /v1/completions (was 1)")]
    [InlineData("custom_id", "7", "custom_id must be a non-empty string (was 7)")]
    [InlineData("body", "[]", "body must be a JSON object")]
    [InlineData("body.model", "{\"name\":\"m\"}", "body.model must be a string (was {\"name\":\"m\"})")]
    public async Task FieldOfTheWrongType_IsALineNumberedError(string field, string value, string expected)
    {
        var line = JsonNode.Parse(Chat("a", "one"))!.AsObject();
        var (parent, name) = field.Split('.') is [var outer, var inner] ? (line[outer]!.AsObject(), inner) : (line, field);
        parent[name] = JsonNode.Parse(value);

        var batch = await ReadAsync(null, Chat("ok", "fine"), line.ToJsonString());

        Assert.Equal($"batch.jsonl:2: {expected}", Assert.Single(batch.Errors));
    }

    [Theory]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"schema":{"type":"object"}}}}}""")]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"temperature":0,"top_p":1,"seed":1,"max_tokens":9,"stop":["."],"n":1,"stream":false,"logprobs":null,"frequency_penalty":0,"user":"u"}}""")]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/completions","body":{"model":"m","prompt":["x"],"max_completion_tokens":9,"stop":"."}}""")]
    public async Task AnyValueOfAnyType_AnywhereInALine_IsTakenOrALineNumberedError_NeverACrash(string valid)
    {
        // Every value of the line, at any depth, in turn replaced by one of each JSON type.
        string[] replacements = ["1", "1e400", "-1.5", "\"\"", "\"x\"", "true", "false", "null", "[]", "[1]", "[\"x\"]", "{}", "{\"type\":1}"];
        var lines = Paths(JsonNode.Parse(valid)!).SelectMany(path => replacements.Select(r => Replace(valid, path, r))).ToArray();
        Assert.Empty((await ReadAsync(null, valid)).Errors);

        foreach (var line in lines)
        {
            var batch = await ReadAsync(null, line);

            // Taken whole, or refused with the line: nothing in between.
            Assert.True(batch.Errors.Count == 1 ? batch.Errors[0].StartsWith("batch.jsonl:1: ", StringComparison.Ordinal) && batch.Items.Count == 0 : batch.Items.Count == 1, line);
        }
    }

    private static IEnumerable<string> Paths(JsonNode node, string path = "$") => node switch
    {
        JsonObject o => o.SelectMany(p => Paths(p.Value!, $"{path}.{p.Key}").Prepend($"{path}.{p.Key}")),
        JsonArray a => a.SelectMany((e, i) => Paths(e!, $"{path}[{i}]").Prepend($"{path}[{i}]")),
        _ => [],
    };

    private static string Replace(string json, string path, string value)
    {
        var root = JsonNode.Parse(json)!;
        var target = root;
        var steps = System.Text.RegularExpressions.Regex.Matches(path, @"\.(\w+)|\[(\d+)\]").ToArray();
        foreach (var step in steps[..^1])
        {
            target = step.Groups[1].Success ? target[step.Groups[1].Value]! : target[int.Parse(step.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)]!;
        }

        var last = steps[^1];
        var replacement = JsonNode.Parse(value);
        if (last.Groups[1].Success)
        {
            target[last.Groups[1].Value] = replacement;
        }
        else
        {
            target[int.Parse(last.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)] = replacement;
        }

        return root.ToJsonString();
    }

    [Fact]
    public async Task InvalidUtf8_InALine_IsALineNumberedError_StillTakenForAnOpenAiFile()
    {
        var path = Path.Combine(_dir, "latin1.jsonl");
        await File.WriteAllBytesAsync(path, [.. System.Text.Encoding.UTF8.GetBytes(Chat("s\u00E3o", "S\u00E3o Paulo?") + "\n" + Chat("lima", "Lima?") + "\n").Select(b => b == 0xC3 ? (byte)0xE3 : b).Where(b => b != 0xA3)]);

        Assert.True(await OpenAiBatchReader.IsOpenAiBatchAsync(path, CancellationToken.None));
        var batch = await OpenAiBatchReader.CheckAsync(path, new OpenAiBatchOverrides(), limit: null, CancellationToken.None);

        Assert.Equal($"{path}:1: not valid UTF-8 (byte 0xE3 at column 16); is the file in another encoding, such as Latin-1? save it as UTF-8", Assert.Single(batch.Errors));
    }

    [Fact]
    public async Task DefaultsSpelledOut_Ignored()
    {
        var batch = await ReadAsync(null, Chat("a", "one", "\"temperature\":0.2,\"n\":1,\"stream\":false,\"frequency_penalty\":0,\"presence_penalty\":0,\"user\":\"me\",\"logprobs\":false"));

        Assert.Empty(batch.Errors);
        Assert.Equal(new GenerationOptions(Temperature: 0.2), batch.Spec.Options);
    }

    [Fact]
    public async Task ImageContent_Refused_NamingTheMessage()
    {
        var batch = await ReadAsync(
            null,
            """{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}}""");

        Assert.Equal("batch.jsonl:1: body.messages[0]: only text content parts are supported (found 'image_url')", Assert.Single(batch.Errors));
    }

    [Fact]
    public async Task PlainJsonLines_AreNotTakenForAnOpenAiFile()
    {
        var path = Path.Combine(_dir, "cities.jsonl");
        File.WriteAllText(path, "{\"city\":\"Paris\",\"id\":\"1\"}\n");
        Assert.False(await OpenAiBatchReader.IsOpenAiBatchAsync(path, CancellationToken.None));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
