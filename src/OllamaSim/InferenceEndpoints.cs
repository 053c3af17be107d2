using System.Text.Json;
using static OllamaSim.OllamaWire;

namespace OllamaSim;

/// <summary>POST /api/generate and /api/chat: queued for a slot, computed under the capacity model, faults applied.</summary>
internal static class InferenceEndpoints
{
    private static OllamaJsonContext Json => OllamaJsonContext.Wire;

    public static void Map(WebApplication app, Simulator sim)
    {
        app.MapPost("/api/generate", (HttpContext http) => InferenceAsync(http, sim, chat: false));
        app.MapPost("/api/chat", (HttpContext http) => InferenceAsync(http, sim, chat: true));
    }

    private static Task InferenceAsync(HttpContext http, Simulator sim, bool chat) => CountedAsync(http, sim, ct => ServeAsync(http, sim, chat, ct));

    /// <summary>A generate or chat request reduced to what the simulation needs.</summary>
    private sealed record Call(
        ModelEntry Model,
        string RequestedName,
        string Question,
        string TokenText,
        IReadOnlyList<int> PriorContext,
        bool Stream,
        bool UnloadAfter,
        bool Chat,
        bool Raw,
        JsonElement? Format,
        RequestOptions Options);

    /// <summary>A call whose prompt is evaluated: when it came, how long loading and the prompt took, when generation began.</summary>
    private sealed record Prompted(long Started, long LoadNs, int PromptTokens, long PromptNs, long EvalStart);

    /// <summary>Answers one generate/chat request; true when it ended with a complete "done" response.</summary>
    private static async Task<bool> ServeAsync(HttpContext http, Simulator sim, bool chat, CancellationToken ct)
    {
        var started = sim.Time.GetTimestamp();
        try
        {
            var call = chat ? await ReadChatAsync(http, sim, ct) : await ReadGenerateAsync(http, sim, ct);
            if (call is null)
            {
                return false;
            }

            var faults = sim.Faults.Current;
            var decision = sim.Faults.Decide(faults, call.TokenText);
            switch (decision.Fault)
            {
                case Fault.FailPrompt or Fault.Error:
                    await WriteErrorAsync(http, StatusCodes.Status500InternalServerError, "simulated failure", ct);
                    return false;
                case Fault.Unavailable:
                    // Ollama's answer when its queue is full; rejected before queueing, so it costs no capacity.
                    await WriteErrorAsync(http, StatusCodes.Status503ServiceUnavailable, "server busy", ct);
                    return false;
                default:
                    return await RunAsync(http, sim, call, decision, faults, started, ct);
            }
        }
        catch (OllamaError ex) when (!http.Response.HasStarted)
        {
            await WriteErrorAsync(http, ex.Status, ex.Message, ct);
            return false;
        }
    }

    private static async Task<bool> RunAsync(
        HttpContext http, Simulator sim, Call call, FaultDecision decision, FaultOptions faults, long started, CancellationToken ct)
    {
        var time = sim.Time;
        var loadStart = time.GetTimestamp();
        await sim.Models.EnsureLoadedAsync(call.Model, faults.LoadDelay, sim.Stopping, ct);
        var loadNs = Nanoseconds(time, loadStart);

        if (call.Question.Length == 0 && call.TokenText.Length == 0)
        {
            return await AnswerLoadAsync(http, sim, call, ct);
        }

        var answer = call.Options.Limit(AnswerText(call, decision));
        var promptTokens = SimulatedModel.PromptTokens(call.TokenText) + call.PriorContext.Count;

        using var lease = await sim.Scheduler.AcquireAsync(ct);
        if (decision.Fault == Fault.Hang)
        {
            // A hung runner: keeps its slot, never answers, until the client disconnects.
            await Task.Delay(Timeout.InfiniteTimeSpan, time, ct);
        }

        var promptStart = time.GetTimestamp();
        await lease.ProcessAsync(promptTokens * SimulatedModel.PromptTokenSeconds, ct);
        var prompted = new Prompted(started, loadNs, promptTokens, Nanoseconds(time, promptStart), time.GetTimestamp());
        return call.Stream
            ? await StreamAsync(http, sim, call, decision.Fault, lease, answer, prompted, ct)
            : await AnswerWholeAsync(http, sim, call, decision.Fault, lease, answer, prompted, ct);
    }

    /// <summary>Ollama's "load the model" request (empty prompt / no messages): no generation, no slot.</summary>
    private static async Task<bool> AnswerLoadAsync(HttpContext http, Simulator sim, Call call, CancellationToken ct)
    {
        if (call.UnloadAfter)
        {
            sim.Models.Unload(call.Model.Name);
        }

        var loaded = Create(call, "", done: true, sim.Time);
        loaded.DoneReason = call.UnloadAfter ? "unload" : "load";
        await WriteFinalAsync(http, call, loaded, ct);
        return true;
    }

    private static async Task<bool> AnswerWholeAsync(
        HttpContext http, Simulator sim, Call call, Fault fault, SlotLease lease, LimitedAnswer answer, Prompted prompted, CancellationToken ct)
    {
        var time = sim.Time;
        await lease.ProcessAsync(answer.OutputTokens * SimulatedModel.OutputTokenSeconds, ct);
        var evalNs = Nanoseconds(time, prompted.EvalStart);
        lease.Dispose(); // writing the answer out is not model time
        if (call.UnloadAfter)
        {
            sim.Models.Unload(call.Model.Name);
        }

        switch (fault)
        {
            case Fault.MidStream:
                await WriteErrorAsync(http, StatusCodes.Status500InternalServerError, "simulated mid-stream failure", ct);
                return false;
            case Fault.NoDone:
                var truncated = Create(call, answer.Text[..(answer.Text.Length / 2)], done: false, time);
                await WriteFinalAsync(http, call, truncated, ct);
                return false;
        }

        var response = Create(call, answer.Text, done: true, time);
        SetStats(response, Nanoseconds(time, prompted.Started), prompted, answer, evalNs);
        SetContext(response, call, answer.Text);
        await WriteFinalAsync(http, call, response, ct);
        return true;
    }

    /// <remarks>
    /// Generation runs as one piece of work, and each token's chunk is sent as soon as the work has progressed past
    /// it; sending doesn't pause generation, as in a real runner.
    /// </remarks>
    private static async Task<bool> StreamAsync(
        HttpContext http, Simulator sim, Call call, Fault fault, SlotLease lease, LimitedAnswer answer, Prompted prompted, CancellationToken ct)
    {
        var time = sim.Time;
        var pieces = SimulatedModel.TokenPieces(answer.Text);
        var breakAt = fault == Fault.MidStream ? pieces.Count / 2 : pieces.Count;
        using (var generation = lease.StartWork(answer.OutputTokens * SimulatedModel.OutputTokenSeconds, ct))
        {
            for (var i = 0; i < breakAt; i++)
            {
                await generation.WhenDoneAsync((i + 1) * SimulatedModel.OutputTokenSeconds);
                await WriteChunkAsync(http, Create(call, pieces[i], done: false, time), ct);
            }

            if (fault == Fault.MidStream)
            {
                await WriteLineAsync(http, new ErrorResponse("simulated mid-stream failure"), Json.ErrorResponse, ct);
                return false;
            }

            // The end-of-sequence token costs a step too, but produces no text.
            await generation.Completion;
        }

        var evalNs = Nanoseconds(time, prompted.EvalStart);
        lease.Dispose();
        if (call.UnloadAfter)
        {
            sim.Models.Unload(call.Model.Name);
        }

        if (fault == Fault.NoDone)
        {
            return false; // the stream just stops: no final "done":true object
        }

        var final = Create(call, "", done: true, time);
        SetStats(final, Nanoseconds(time, prompted.Started), prompted, answer, evalNs);
        SetContext(final, call, answer.Text);
        await WriteChunkAsync(http, final, ct);
        return true;
    }

    /// <summary>The whole answer before num_predict and stop: free text, or JSON in the requested format (broken if the dice say so).</summary>
    private static string AnswerText(Call call, FaultDecision decision)
    {
        switch (StructuredAnswer.Classify(call.Format))
        {
            case FormatKind.Json or FormatKind.Schema:
                var format = call.Format!.Value;
                return decision.ViolateSchema
                    ? StructuredAnswer.Violating(call.Question, format)
                    : StructuredAnswer.For(call.Question, format);
            case FormatKind.Invalid:
                // Ollama's runner refuses it before generating (llm/server.go), and the handler answers 500.
                throw new OllamaError(
                    StatusCodes.Status500InternalServerError,
                    $"invalid format: {GoQuote(call.Format!.Value.GetRawText())}; expected \"json\" or a valid JSON Schema object");
            default:
                return SimulatedModel.AnswerFor(call.Question);
        }
    }

    private static async Task<Call?> ReadGenerateAsync(HttpContext http, Simulator sim, CancellationToken ct)
    {
        var request = await ReadBodyAsync(http, Json.GenerateRequest, ct);
        if (request is null)
        {
            return null;
        }

        sim.Requests.Record(new RecordedRequest
        {
            Path = "/api/generate",
            Model = request.Model,
            Prompt = request.Prompt,
            System = request.System,
            Stream = request.Stream,
            Options = request.Options,
            Format = request.Format,
            KeepAlive = request.KeepAlive,
        });

        var model = await OllamaEndpoints.FindModelAsync(http, sim, request.Model, ct);
        if (model is null)
        {
            return null;
        }

        var options = RequestOptions.Parse(request.Options);
        var prompt = request.Prompt ?? "";
        var tokenText = string.IsNullOrEmpty(request.System) || prompt.Length == 0 ? prompt : request.System + "\n" + prompt;
        return new Call(
            model, request.Model!, prompt, tokenText, request.Context ?? [], request.Stream ?? true, IsZero(request.KeepAlive),
            Chat: false, Raw: request.Raw ?? false, request.Format, options);
    }

    private static async Task<Call?> ReadChatAsync(HttpContext http, Simulator sim, CancellationToken ct)
    {
        var request = await ReadBodyAsync(http, Json.ChatRequest, ct);
        if (request is null)
        {
            return null;
        }

        var messages = request.Messages ?? [];
        // The answer depends on the last user message; the cost on the whole conversation.
        var question = messages.LastOrDefault(m => string.Equals(m.Role, "user", StringComparison.OrdinalIgnoreCase))?.Content ?? "";
        var system = messages.Where(m => string.Equals(m.Role, "system", StringComparison.OrdinalIgnoreCase)).Select(m => m.Content ?? "").ToList();
        sim.Requests.Record(new RecordedRequest
        {
            Path = "/api/chat",
            Model = request.Model,
            Prompt = question,
            System = system.Count == 0 ? null : string.Join("\n", system),
            Stream = request.Stream,
            Options = request.Options,
            Format = request.Format,
            KeepAlive = request.KeepAlive,
        });

        var model = await OllamaEndpoints.FindModelAsync(http, sim, request.Model, ct);
        if (model is null)
        {
            return null;
        }

        var options = RequestOptions.Parse(request.Options);
        var tokenText = string.Join("\n", messages.Select(m => m.Content ?? ""));
        return new Call(
            model, request.Model!, question, tokenText, [], request.Stream ?? true, IsZero(request.KeepAlive),
            Chat: true, Raw: false, request.Format, options);
    }

    private static CompletionResponse Create(Call call, string text, bool done, TimeProvider time)
    {
        var createdAt = time.GetUtcNow().UtcDateTime;
        return call.Chat
            ? new ChatResponse { Model = call.RequestedName, CreatedAt = createdAt, Message = new ChatMessage { Role = "assistant", Content = text }, Done = done }
            : new GenerateResponse { Model = call.RequestedName, CreatedAt = createdAt, Response = text, Done = done };
    }

    private static void SetStats(CompletionResponse r, long totalNs, Prompted prompted, LimitedAnswer answer, long evalNs)
    {
        r.DoneReason = answer.DoneReason;
        r.TotalDuration = totalNs;
        r.LoadDuration = prompted.LoadNs;
        r.PromptEvalCount = prompted.PromptTokens;
        r.PromptEvalDuration = prompted.PromptNs;
        r.EvalCount = answer.OutputTokens;
        r.EvalDuration = evalNs;
    }

    /// <summary>The final generate object carries the conversation's tokens, unless the prompt was raw (server/routes.go GenerateHandler).</summary>
    private static void SetContext(CompletionResponse response, Call call, string answer)
    {
        if (response is GenerateResponse generate && !call.Raw)
        {
            generate.Context = [.. call.PriorContext, .. SimulatedModel.ContextFor(call.TokenText, answer)];
        }
    }

    private static Task WriteFinalAsync(HttpContext http, Call call, CompletionResponse response, CancellationToken ct) =>
        call.Stream
            ? WriteChunkAsync(http, response, ct)
            : WriteJsonAsync(http, StatusCodes.Status200OK, Serialize(response), ct);

    private static Task WriteChunkAsync(HttpContext http, CompletionResponse response, CancellationToken ct) =>
        WriteRawLineAsync(http, Serialize(response), ct);

    private static byte[] Serialize(CompletionResponse response) => response switch
    {
        ChatResponse c => JsonSerializer.SerializeToUtf8Bytes(c, Json.ChatResponse),
        GenerateResponse g => JsonSerializer.SerializeToUtf8Bytes(g, Json.GenerateResponse),
        _ => throw new ArgumentOutOfRangeException(nameof(response)),
    };
}
