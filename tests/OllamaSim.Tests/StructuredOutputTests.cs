using System.Net;
using System.Text.Json;
using Json.Schema;
using OllamaSharp;
using OllamaSharp.Models.Chat;

namespace OllamaSim.Tests;

/// <summary><c>format</c>: "json" and JSON schemas, checked with a real JSON Schema validator, and the schema-violation fault.</summary>
public sealed class StructuredOutputTests
{
    private const string MayorSchema = """
        {"type":"object",
         "properties":{"mayor":{"type":"string"},"confidence":{"type":"number","minimum":0,"maximum":1},"known":{"type":"boolean"}},
         "required":["mayor","confidence"]}
        """;

    // What a Pydantic model with a nested model, an enum and optional fields produces, plus bounds and formats.
    private const string RichSchema = """
        {"type":"object",
         "$defs":{"Office":{"type":"object","properties":{"title":{"type":"string","enum":["mayor","deputy"]},"since":{"type":"integer","minimum":1990,"maximum":2024}},"required":["title","since"]}},
         "properties":{
           "name":{"type":"string","minLength":3,"maxLength":40},
           "office":{"$ref":"#/$defs/Office"},
           "party":{"anyOf":[{"type":"string"},{"type":"null"}]},
           "terms":{"type":"integer","exclusiveMinimum":0,"exclusiveMaximum":5},
           "approval":{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1},
           "tags":{"type":"array","items":{"type":"string"},"minItems":1,"maxItems":3},
           "deputies":{"type":"array","items":{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":18}},"required":["name"]},"minItems":2},
           "elected":{"type":"string","format":"date"},
           "contact":{"type":"object","properties":{"email":{"type":"string","format":"email"},"verified":{"type":"boolean"}},"required":["email"]},
           "status":{"const":"active"}},
         "required":["name","office","terms","approval","tags","deputies","contact","status"]}
        """;

    private static readonly string[] Prompts = Enumerable.Range(0, 40).Select(i => $"Who is the mayor of Town{i}? Answer in JSON.").ToArray();

    private static JsonElement Schema(string text) => SimHttp.Parse(text);

    private static EvaluationResults Evaluate(string schema, string instance)
    {
        var compiled = JsonSchema.FromText(schema, baseUri: new Uri($"https://ollamasim.test/{Guid.NewGuid():N}"));
        using var document = JsonDocument.Parse(instance);
        return compiled.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
    }

    private static void AssertValid(string schema, string instance)
    {
        var result = Evaluate(schema, instance);
        var errors = (result.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"));
        Assert.True(result.IsValid, $"{instance} should match the schema: {string.Join("; ", errors)}");
    }

    private static bool IsValidJson(string text)
    {
        try
        {
            using var _ = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    [Fact]
    public void Schema_answers_match_their_schemas_for_many_prompts()
    {
        foreach (var prompt in Prompts)
        {
            AssertValid(MayorSchema, StructuredAnswer.For(prompt, Schema(MayorSchema)));
            AssertValid(RichSchema, StructuredAnswer.For(prompt, Schema(RichSchema)));
        }
    }

    [Fact]
    public void The_first_free_string_is_the_models_answer_and_values_are_deterministic()
    {
        const string prompt = "Who is the mayor of Paris?";
        var answer = SimSchemaAnswer(prompt, MayorSchema);

        Assert.Equal(SimulatedModel.AnswerFor(prompt), answer.GetProperty("mayor").GetString());
        Assert.Equal(StructuredAnswer.For(prompt, Schema(MayorSchema)), StructuredAnswer.For(prompt, Schema(MayorSchema)));
        Assert.NotEqual(StructuredAnswer.For(prompt, Schema(RichSchema)), StructuredAnswer.For("Who is the mayor of Lyon?", Schema(RichSchema)));

        var rich = SimSchemaAnswer(prompt, RichSchema);
        Assert.Equal("active", rich.GetProperty("status").GetString());
        Assert.Contains(rich.GetProperty("office").GetProperty("title").GetString(), new[] { "mayor", "deputy" });
        Assert.InRange(rich.GetProperty("deputies").GetArrayLength(), 2, 10);
    }

    private static JsonElement SimSchemaAnswer(string prompt, string schema) => SimHttp.Parse(StructuredAnswer.For(prompt, Schema(schema)));

    [Fact]
    public void Violating_answers_break_the_schema_both_ways()
    {
        var missing = 0;
        var wrongType = 0;
        foreach (var prompt in Prompts)
        {
            foreach (var schema in new[] { MayorSchema, RichSchema })
            {
                var broken = StructuredAnswer.Violating(prompt, Schema(schema));
                Assert.True(IsValidJson(broken), $"a schema violation is still JSON: {broken}");
                var result = Evaluate(schema, broken);
                Assert.False(result.IsValid, $"{broken} should break the schema");
                var valid = SimHttp.Parse(StructuredAnswer.For(prompt, Schema(schema)));
                var names = SimHttp.Parse(broken).EnumerateObject().Select(p => p.Name).ToHashSet();
                if (valid.EnumerateObject().Any(p => !names.Contains(p.Name)))
                {
                    missing++;
                }
                else
                {
                    wrongType++;
                }
            }
        }

        Assert.True(missing > 0 && wrongType > 0, $"both kinds of violation occur: {missing} missing, {wrongType} wrong type");
    }

    [Fact]
    public void Json_mode_answers_are_json_and_violations_are_not()
    {
        var format = SimHttp.Parse("\"json\"");
        foreach (var prompt in Prompts)
        {
            Assert.Equal(SimulatedModel.AnswerFor(prompt), SimHttp.Parse(StructuredAnswer.For(prompt, format)).GetProperty("answer").GetString());
            Assert.False(IsValidJson(StructuredAnswer.Violating(prompt, format)));
        }

        var scalar = """{"type":"integer","minimum":1,"maximum":9}""";
        Assert.False(IsValidJson(StructuredAnswer.Violating("x", Schema("{}"))), "a schema with nothing to break gets cut-off JSON");
        Assert.False(Evaluate(scalar, StructuredAnswer.Violating("x", Schema(scalar))).IsValid);
    }

    [Fact]
    public async Task Generate_and_chat_answer_in_the_requested_format()
    {
        await using var server = await SimulatorServer.StartAsync(new SimulatorOptions { TimeScale = 0 });
        using var http = new HttpClient { BaseAddress = server.Url };
        const string prompt = "Who is the mayor of Ghent? Answer in JSON.";

        var json = await SimHttp.PostOkAsync(http, "/api/generate", new { model = "qwen2:1.5b", prompt, format = "json", stream = false });
        Assert.Equal(SimulatedModel.AnswerFor(prompt), SimHttp.Parse(json.GetProperty("response").GetString()!).GetProperty("answer").GetString());

        var generated = await SimHttp.PostOkAsync(http, "/api/generate", new { model = "qwen2:1.5b", prompt, format = Schema(RichSchema), stream = false });
        AssertValid(RichSchema, generated.GetProperty("response").GetString()!);

        // Streamed, the chunks add up to the same document.
        var (_, streamed) = await SimHttp.PostAsync(http, "/api/generate", new { model = "qwen2:1.5b", prompt, format = Schema(RichSchema) });
        var text = string.Concat(streamed.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => SimHttp.Parse(l).GetProperty("response").GetString()));
        Assert.Equal(generated.GetProperty("response").GetString(), text);

        using var client = new OllamaApiClient(server.Url, "qwen2:1.5b");
        var chat = await OllamaSharpTests.ToListAsync(client.ChatAsync(new ChatRequest
        {
            Model = "qwen2:1.5b",
            Stream = false,
            Format = Schema(MayorSchema),
            Messages = [new Message(ChatRole.User, prompt)],
        }));
        var content = chat[^1]!.Message.Content!;
        AssertValid(MayorSchema, content);
        Assert.Equal(SimulatedModel.AnswerFor(prompt), SimHttp.Parse(content).GetProperty("mayor").GetString());
    }

    [Fact]
    public async Task An_invalid_format_is_a_500_as_in_ollama()
    {
        await using var server = await SimulatorServer.StartAsync(new SimulatorOptions { TimeScale = 0 });
        using var http = new HttpClient { BaseAddress = server.Url };

        var (status, body) = await SimHttp.PostAsync(http, "/api/generate", new { model = "qwen2:1.5b", prompt = "hi", format = "xml", stream = false });

        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("invalid format: \"\\\"xml\\\"\"; expected \"json\" or a valid JSON Schema object", SimHttp.Error(body));
        Assert.Equal(HttpStatusCode.OK, (await SimHttp.PostAsync(http, "/api/generate", new { model = "qwen2:1.5b", prompt = "hi", format = "", stream = false })).Status);
    }

    [Fact]
    public async Task Schema_violation_rate_one_breaks_every_constrained_answer_and_leaves_free_text_alone()
    {
        await using var server = await SimulatorServer.StartAsync(new SimulatorOptions { TimeScale = 0, Seed = 1 });
        using var http = new HttpClient { BaseAddress = server.Url };

        var (set, view) = await SimHttp.PostAsync(http, "/sim/faults", new { schemaViolationRate = 1 });
        Assert.Equal(HttpStatusCode.OK, set);
        Assert.Equal(1, SimHttp.Parse(view).GetProperty("schemaViolationRate").GetDouble());
        Assert.Equal(1, server.Faults.SchemaViolationRate);

        foreach (var prompt in Prompts.Take(10))
        {
            var generated = await SimHttp.PostOkAsync(http, "/api/generate", new { model = "qwen2:1.5b", prompt, format = Schema(MayorSchema), stream = false });
            Assert.False(Evaluate(MayorSchema, generated.GetProperty("response").GetString()!).IsValid);
            var chat = await SimHttp.PostOkAsync(http, "/api/chat", new
            {
                model = "qwen2:1.5b", format = Schema(MayorSchema), stream = false, messages = new[] { new { role = "user", content = prompt } },
            });
            Assert.False(Evaluate(MayorSchema, chat.GetProperty("message").GetProperty("content").GetString()!).IsValid);
        }

        var free = await SimHttp.PostOkAsync(http, "/api/generate", new { model = "qwen2:1.5b", prompt = "Who is the mayor of Oslo?", stream = false });
        Assert.Equal(SimulatedModel.AnswerFor("Who is the mayor of Oslo?"), free.GetProperty("response").GetString());
        Assert.Equal(21, server.GetStats().Served);
    }

    [Fact]
    public async Task A_seeded_violation_rate_breaks_the_same_share_of_answers_on_every_run()
    {
        async Task<bool[]> RunAsync()
        {
            await using var server = await SimulatorServer.StartAsync(new SimulatorOptions
            {
                TimeScale = 0, Seed = 7, Faults = new FaultOptions { SchemaViolationRate = 0.5 },
            });
            using var http = new HttpClient { BaseAddress = server.Url };
            var valid = new List<bool>();
            foreach (var prompt in Prompts)
            {
                var json = await SimHttp.PostOkAsync(http, "/api/generate", new { model = "qwen2:1.5b", prompt, format = Schema(MayorSchema), stream = false });
                valid.Add(Evaluate(MayorSchema, json.GetProperty("response").GetString()!).IsValid);
            }

            return [.. valid];
        }

        var first = await RunAsync();
        var second = await RunAsync();

        Assert.Equal(first, second);
        Assert.InRange(first.Count(v => !v), 8, 32);
    }
}
