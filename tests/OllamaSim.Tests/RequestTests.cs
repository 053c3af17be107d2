using System.Net;
using System.Text.Json;
using OllamaSharp;
using OllamaSharp.Models;
using OllamaSharp.Models.Chat;

namespace OllamaSim.Tests;

/// <summary>What clients send: options, system, format and keep_alive recorded and honoured; the context returned.</summary>
public sealed class RequestTests
{
    private const string Model = "qwen2:1.5b";

    private static Task<SimulatorServer> Start(int requestLog = 1000) =>
        SimulatorServer.StartAsync(new SimulatorOptions { TimeScale = 0, RequestLogCapacity = requestLog });

    [Fact]
    public async Task Generate_requests_are_recorded_as_ollamasharp_sent_them()
    {
        await using var server = await Start();
        using var client = new OllamaApiClient(server.Url, Model);

        await OllamaSharpTests.ToListAsync(client.GenerateAsync(new GenerateRequest
        {
            Model = Model,
            Prompt = "Who is the mayor of Oslo?",
            System = "Answer with a name.",
            Stream = false,
            Format = "json",
            KeepAlive = "10m",
            Options = new RequestOptions { NumThread = 4, NumCtx = 2048, Temperature = 0, Seed = 42 },
        }));

        var recorded = Assert.Single(server.GetRequests().Requests);
        Assert.Equal(("/api/generate", Model, "Who is the mayor of Oslo?", "Answer with a name.", (bool?)false),
            (recorded.Path, recorded.Model, recorded.Prompt, recorded.System, recorded.Stream));
        var options = recorded.Options!.Value;
        Assert.Equal(4, options.GetProperty("num_thread").GetInt32());
        Assert.Equal(2048, options.GetProperty("num_ctx").GetInt32());
        Assert.Equal(0, options.GetProperty("temperature").GetDouble());
        Assert.Equal(42, options.GetProperty("seed").GetInt32());
        Assert.Equal("json", recorded.Format!.Value.GetString());
        Assert.Equal("10m", recorded.KeepAlive!.Value.GetString());
        Assert.Equal(1, recorded.Sequence);
    }

    [Fact]
    public async Task Chat_requests_record_their_system_messages_and_the_http_view_has_the_same_shape()
    {
        await using var server = await Start();
        using var client = new OllamaApiClient(server.Url, Model);
        using var http = new HttpClient { BaseAddress = server.Url };

        await OllamaSharpTests.ToListAsync(client.ChatAsync(new ChatRequest
        {
            Model = Model,
            Messages = [new Message(ChatRole.System, "You are terse."), new Message(ChatRole.User, "Who is the mayor of Turku?")],
            Options = new RequestOptions { NumPredict = 64 },
        }));

        var json = SimHttp.Parse(await http.GetStringAsync("/sim/requests"));
        Assert.Equal((1000, 1, 0), (json.GetProperty("capacity").GetInt32(), json.GetProperty("recorded").GetInt64(), json.GetProperty("dropped").GetInt64()));
        var request = Assert.Single(json.GetProperty("requests").EnumerateArray());
        Assert.Equal("/api/chat", request.GetProperty("path").GetString());
        Assert.Equal("You are terse.", request.GetProperty("system").GetString());
        Assert.Equal("Who is the mayor of Turku?", request.GetProperty("prompt").GetString());
        Assert.Equal(64, request.GetProperty("options").GetProperty("num_predict").GetInt32());
        foreach (var name in new[] { "sequence", "receivedAt", "model", "stream", "format", "keepAlive" })
        {
            Assert.True(request.TryGetProperty(name, out _), $"a recorded request has {name}");
        }
    }

    [Fact]
    public async Task The_log_keeps_the_newest_requests_and_counts_what_it_dropped()
    {
        await using var server = await Start(requestLog: 3);
        using var http = new HttpClient { BaseAddress = server.Url };
        for (var i = 1; i <= 5; i++)
        {
            await SimHttp.PostOkAsync(http, "/api/generate", new { model = Model, prompt = $"q{i}", stream = false });
        }

        var log = server.GetRequests();
        Assert.Equal((3, 5, 2), (log.Capacity, log.Recorded, log.Dropped));
        Assert.Equal(["q3", "q4", "q5"], log.Requests.Select(r => r.Prompt));
        Assert.Equal(["q5"], server.GetRequests(limit: 1).Requests.Select(r => r.Prompt));
        Assert.Equal(["q4", "q5"], server.GetRequests(since: 3).Requests.Select(r => r.Prompt));

        var since = SimHttp.Parse(await http.GetStringAsync("/sim/requests?since=4&limit=10")).GetProperty("requests");
        Assert.Equal("q5", Assert.Single(since.EnumerateArray()).GetProperty("prompt").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await SimHttp.SendAsync(http, HttpMethod.Get, "/sim/requests?limit=-1")).Status);

        Assert.Equal(HttpStatusCode.NoContent, (await SimHttp.SendAsync(http, HttpMethod.Delete, "/sim/requests")).Status);
        Assert.Equal((0, 0), (server.GetRequests().Recorded, server.GetRequests().Requests.Count));
        await SimHttp.PostOkAsync(http, "/api/generate", new { model = Model, prompt = "q6", stream = false });
        Assert.Equal(6, Assert.Single(server.GetRequests().Requests).Sequence);
    }

    [Theory]
    [InlineData("""{"num_ctx":"big"}""", 500, "option \"num_ctx\" must be of type integer")]
    [InlineData("""{"temperature":"hot"}""", 500, "option \"temperature\" must be of type float32")]
    [InlineData("""{"use_mmap":1}""", 500, "option \"use_mmap\" must be of type boolean")]
    [InlineData("""{"stop":"\n"}""", 500, "option \"stop\" must be of type array")]
    [InlineData("""{"stop":[1]}""", 500, "option \"stop\" must be of an array of strings")]
    [InlineData("\"fast\"", 400, "invalid request body: options must be a JSON object")]
    public async Task Options_of_the_wrong_type_are_refused_as_ollama_refuses_them(string options, int status, string error)
    {
        await using var server = await Start();
        using var http = new HttpClient { BaseAddress = server.Url };

        var (code, body) = await SimHttp.SendAsync(http, HttpMethod.Post, "/api/generate",
            $$"""{"model":"{{Model}}","prompt":"hi","stream":false,"options":{{options}}}""");

        Assert.Equal(status, (int)code);
        Assert.Equal(error, SimHttp.Error(body));
        Assert.Single(server.GetRequests().Requests); // recorded all the same: the test wants to see what was sent
    }

    [Fact]
    public async Task Unknown_and_null_options_are_ignored()
    {
        await using var server = await Start();
        using var http = new HttpClient { BaseAddress = server.Url };

        var json = await SimHttp.PostOkAsync(http, "/api/generate", new
        {
            model = Model, prompt = "hi", stream = false, options = new { not_an_option = "x", num_ctx = (int?)null, num_thread = 8 },
        });

        Assert.Equal(SimulatedModel.AnswerFor("hi"), json.GetProperty("response").GetString());
    }

    [Fact]
    public async Task Num_predict_cuts_the_answer_after_that_many_tokens()
    {
        await using var server = await Start();
        using var http = new HttpClient { BaseAddress = server.Url };
        const string prompt = "Tell me something.";
        var pieces = SimulatedModel.TokenPieces(SimulatedModel.AnswerFor(prompt));
        Assert.True(pieces.Count > 3);

        var json = await SimHttp.PostOkAsync(http, "/api/generate", new { model = Model, prompt, stream = false, options = new { num_predict = 3 } });

        Assert.Equal(string.Concat(pieces.Take(3)), json.GetProperty("response").GetString());
        Assert.Equal("length", json.GetProperty("done_reason").GetString());
        Assert.Equal(3, json.GetProperty("eval_count").GetInt32());

        var (_, stream) = await SimHttp.PostAsync(http, "/api/generate", new { model = Model, prompt, options = new { num_predict = 3 } });
        var lines = stream.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(SimHttp.Parse).ToList();
        Assert.Equal(string.Concat(pieces.Take(3)), string.Concat(lines.Select(l => l.GetProperty("response").GetString())));
        Assert.Equal("length", lines[^1].GetProperty("done_reason").GetString());

        var whole = await SimHttp.PostOkAsync(http, "/api/generate", new { model = Model, prompt, stream = false, options = new { num_predict = 500 } });
        Assert.Equal(("stop", SimulatedModel.AnswerFor(prompt)), (whole.GetProperty("done_reason").GetString(), whole.GetProperty("response").GetString()));
    }

    [Fact]
    public async Task A_stop_sequence_ends_the_answer_before_it()
    {
        await using var server = await Start();
        using var client = new OllamaApiClient(server.Url, Model);
        const string question = "Who is the mayor of Paris?";
        var answer = SimulatedModel.AnswerFor(question); // "Anders Castillo"

        var chat = await OllamaSharpTests.ToListAsync(client.ChatAsync(new ChatRequest
        {
            Model = Model,
            Stream = false,
            Messages = [new Message(ChatRole.User, question)],
            Options = new RequestOptions { Stop = [" "] },
        }));

        Assert.Equal(answer[..answer.IndexOf(' ', StringComparison.Ordinal)], chat[^1]!.Message.Content);
    }

    [Fact]
    public async Task The_final_generate_object_carries_the_context_and_a_context_sent_back_counts()
    {
        await using var server = await Start();
        using var http = new HttpClient { BaseAddress = server.Url };
        const string prompt = "Who is the mayor of Bergen?";
        static int[] Context(JsonElement response) => response.GetProperty("context").EnumerateArray().Select(t => t.GetInt32()).ToArray();

        var first = await SimHttp.PostOkAsync(http, "/api/generate", new { model = Model, prompt, stream = false });
        var context = Context(first);
        Assert.Equal(SimulatedModel.ContextFor(prompt, SimulatedModel.AnswerFor(prompt)), context);
        Assert.Equal(
            first.GetProperty("prompt_eval_count").GetInt32() + SimulatedModel.TokenPieces(first.GetProperty("response").GetString()!).Count,
            context.Length);

        // Streamed, only the final object has it.
        var (_, stream) = await SimHttp.PostAsync(http, "/api/generate", new { model = Model, prompt });
        var lines = stream.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(SimHttp.Parse).ToList();
        Assert.All(lines[..^1], l => Assert.False(l.TryGetProperty("context", out _)));
        Assert.Equal(context, Context(lines[^1]));

        var next = await SimHttp.PostOkAsync(http, "/api/generate", new { model = Model, prompt = "And of Oslo?", context, stream = false });
        Assert.Equal(SimulatedModel.PromptTokens("And of Oslo?") + context.Length, next.GetProperty("prompt_eval_count").GetInt32());
        Assert.Equal(context, Context(next).Take(context.Length));

        var raw = await SimHttp.PostOkAsync(http, "/api/generate", new { model = Model, prompt, raw = true, stream = false });
        Assert.False(raw.TryGetProperty("context", out _), "raw prompts get no context, as in Ollama");
        var chat = await SimHttp.PostOkAsync(http, "/api/chat", new { model = Model, stream = false, messages = new[] { new { role = "user", content = prompt } } });
        Assert.False(chat.TryGetProperty("context", out _), "chat responses have no context");
    }

    [Fact]
    public async Task Empty_bodies_are_a_400_missing_request_body()
    {
        await using var server = await Start();
        using var http = new HttpClient { BaseAddress = server.Url };

        var (status, body) = await SimHttp.SendAsync(http, HttpMethod.Post, "/api/generate", "");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("missing request body", SimHttp.Error(body));
        Assert.Equal(JsonValueKind.Object, SimHttp.Parse(body).ValueKind);
    }
}
