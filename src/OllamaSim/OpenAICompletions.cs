using System.Text.Json;
using static OllamaSim.OllamaWire;
using static OllamaSim.OpenAIWire;

namespace OllamaSim;

/// <summary>
/// POST /v1/chat/completions and /v1/completions: queued for a KV-cache slot (continuous batching: the sequences
/// holding one compute together under the capacity curve), answered whole or streamed as Server-Sent Events
/// (<see cref="OpenAIReply"/> writes them), faults applied as in the Ollama mode.
/// </summary>
internal static class OpenAICompletions
{
    public static void Map(WebApplication app, Simulator sim)
    {
        app.MapPost("/v1/chat/completions", (HttpContext http) => CompleteAsync(http, sim, chat: true));
        app.MapPost("/v1/completions", (HttpContext http) => CompleteAsync(http, sim, chat: false));
    }

    private static Task CompleteAsync(HttpContext http, Simulator sim, bool chat) => CountedAsync(http, sim, ct => ServeAsync(http, sim, chat, ct));

    /// <summary>Answers one request; true when it got a complete 200 answer.</summary>
    private static async Task<bool> ServeAsync(HttpContext http, Simulator sim, bool chat, CancellationToken ct)
    {
        try
        {
            var request = await ReadAsync(http, sim, chat, ct);
            var model = FindModel(sim, request.Model);
            var faults = sim.Faults.Current;
            var decision = sim.Faults.Decide(faults, request.TokenText);
            switch (decision.Fault)
            {
                case Fault.FailPrompt or Fault.Error:
                    await WriteErrorAsync(http, StatusCodes.Status500InternalServerError, "InternalServerError", "simulated failure", ct);
                    return false;
                case Fault.Unavailable:
                    // Refused before queueing, as an overloaded server or a gateway in front of it would: costs no capacity.
                    await WriteErrorAsync(http, StatusCodes.Status503ServiceUnavailable, "ServiceUnavailableError", "server busy", ct);
                    return false;
            }

            await sim.Models.EnsureLoadedAsync(model, faults.LoadDelay, sim.Stopping, ct);
            return await RunAsync(http, sim, request, model.Name, decision, ct);
        }
        catch (OpenAIError ex) when (!http.Response.HasStarted)
        {
            await WriteErrorAsync(http, ex, ct);
            return false;
        }
    }

    /// <summary>Reads, records (as sent, before any check, so refused requests show too) and parses the body.</summary>
    private static async Task<OpenAIRequest> ReadAsync(HttpContext http, Simulator sim, bool chat, CancellationToken ct)
    {
        var path = http.Request.Path.Value ?? "";
        JsonElement body;
        try
        {
            body = await ReadBodyAsync(http, ct);
        }
        catch (OpenAIError)
        {
            sim.Requests.Record(new RecordedRequest { Path = path });
            throw;
        }

        OpenAIRequest? request = null;
        try
        {
            request = OpenAIRequest.Parse(body, chat);
            return request;
        }
        finally
        {
            sim.Requests.Record(new RecordedRequest
            {
                Path = path,
                Model = request?.Model ?? ModelField(body),
                Prompt = request?.Question,
                System = request?.System,
                Stream = request?.Stream,
                Format = request?.Format,
                Body = body,
            });
        }
    }

    /// <summary>vLLM's check_model: a request without a model gets the (first) served one; an unknown name is a 404.</summary>
    private static ModelEntry FindModel(Simulator sim, string? name) =>
        (name is null ? sim.Models.List().FirstOrDefault() : sim.Models.Find(name))
        ?? throw OpenAIError.ModelNotFound(name ?? "");

    /// <summary>Waits (FIFO) for a KV-cache slot, processes the prompt there, then answers whole or streams.</summary>
    private static async Task<bool> RunAsync(
        HttpContext http, Simulator sim, OpenAIRequest request, string model, FaultDecision decision, CancellationToken ct)
    {
        var time = sim.Time;
        var answer = request.Limit(AnswerText(request, decision));
        var promptTokens = SimulatedModel.PromptTokens(request.TokenText);
        using var lease = await sim.Scheduler.AcquireAsync(ct);
        if (decision.Fault == Fault.Hang)
        {
            // A hung engine: the sequence keeps its KV-cache slot and never finishes, until the client disconnects.
            await Task.Delay(Timeout.InfiniteTimeSpan, time, ct);
        }

        var promptStart = time.GetTimestamp();
        await lease.ProcessAsync(promptTokens * SimulatedModel.PromptTokenSeconds, ct);
        var reply = new OpenAIReply(request, model, promptTokens, time.GetElapsedTime(promptStart), answer, sim.Options.Flavor, time);
        sim.Tokens.Prompted(promptTokens, reply.Prompt.TotalSeconds);
        return request.Stream
            ? await StreamAsync(http, sim, lease, reply, decision.Fault, ct)
            : await AnswerWholeAsync(http, sim, lease, reply, decision.Fault, ct);
    }

    private static async Task<bool> AnswerWholeAsync(
        HttpContext http, Simulator sim, SlotLease lease, OpenAIReply reply, Fault fault, CancellationToken ct)
    {
        var generationStart = sim.Time.GetTimestamp();
        await lease.ProcessAsync(reply.Answer.OutputTokens * SimulatedModel.OutputTokenSeconds, ct);
        reply.Generation = sim.Time.GetElapsedTime(generationStart);
        lease.Dispose(); // writing the answer out is not model time
        if (fault == Fault.MidStream)
        {
            // The work was done (and paid for), then the server failed before answering.
            await WriteErrorAsync(http, StatusCodes.Status500InternalServerError, "InternalServerError", "simulated mid-stream failure", ct);
            return false;
        }

        sim.Tokens.Generated(reply.Answer.OutputTokens, reply.Generation.TotalSeconds, reply.Answer.DoneReason);
        var json = reply.Whole();
        if (fault == Fault.NoDone)
        {
            // A truncated response: 200, then the connection ends half way through the JSON.
            http.Response.StatusCode = StatusCodes.Status200OK;
            http.Response.ContentType = "application/json";
            await http.Response.Body.WriteAsync(json.AsMemory(0, json.Length / 2), ct);
            return false;
        }

        await WriteJsonAsync(http, StatusCodes.Status200OK, json, ct);
        return true;
    }

    /// <remarks>
    /// Generation runs as one piece of work and each token's event goes out as soon as the work has passed it, as
    /// vLLM streams (chat_completion/serving.py): a first chunk with the role, one per token, one with the finish
    /// reason, one with the usage if stream_options.include_usage asks, then [DONE].
    /// </remarks>
    private static async Task<bool> StreamAsync(
        HttpContext http, Simulator sim, SlotLease lease, OpenAIReply reply, Fault fault, CancellationToken ct)
    {
        var generationStart = sim.Time.GetTimestamp();
        var pieces = SimulatedModel.TokenPieces(reply.Answer.Text);
        var breakAt = fault == Fault.MidStream ? pieces.Count / 2 : pieces.Count;
        using (var generation = lease.StartWork(reply.Answer.OutputTokens * SimulatedModel.OutputTokenSeconds, ct))
        {
            if (reply.Request.Chat)
            {
                await WriteEventAsync(http, reply.First(), ct);
            }

            for (var i = 0; i < breakAt; i++)
            {
                await generation.WhenDoneAsync((i + 1) * SimulatedModel.OutputTokenSeconds);
                await WriteEventAsync(http, reply.Token(pieces[i]), ct);
            }

            if (fault == Fault.MidStream)
            {
                await WriteErrorEventAsync(http, StatusCodes.Status500InternalServerError, "InternalServerError", "simulated mid-stream failure", ct);
                return false;
            }

            await generation.Completion;
        }

        reply.Generation = sim.Time.GetElapsedTime(generationStart);
        lease.Dispose();
        sim.Tokens.Generated(reply.Answer.OutputTokens, reply.Generation.TotalSeconds, reply.Answer.DoneReason);
        if (fault == Fault.NoDone)
        {
            return false; // the stream just stops: no finish reason, no [DONE]
        }

        await WriteEventAsync(http, reply.Finish(), ct);
        if (reply.Request.IncludeUsage)
        {
            await WriteEventAsync(http, reply.UsageChunk(), ct);
        }

        await WriteDoneAsync(http, ct);
        return true;
    }

    /// <summary>Free text, or JSON in the requested response_format (broken when the dice say so), before max_tokens and stop.</summary>
    private static string AnswerText(OpenAIRequest request, FaultDecision decision) =>
        request.Format is not { } format ? SimulatedModel.AnswerFor(request.Question)
        : decision.ViolateSchema ? StructuredAnswer.Violating(request.Question, format)
        : StructuredAnswer.For(request.Question, format);

    private static string? ModelField(JsonElement body) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
}
