using System.Text.Json;
using static OllamaSim.OllamaWire;
using static OllamaSim.OpenAIWire;

namespace OllamaSim;

/// <summary>
/// POST /v1/chat/completions and /v1/completions: queued for a KV-cache slot (continuous batching: the sequences
/// holding one compute together under the capacity curve), answered whole, faults applied as in the Ollama mode.
/// </summary>
internal static class OpenAICompletions
{
    private static OpenAIJsonContext Json => OpenAIJsonContext.Wire;

    public static void Map(WebApplication app, Simulator sim)
    {
        app.MapPost("/v1/chat/completions", (HttpContext http) => CompleteAsync(http, sim, chat: true));
        app.MapPost("/v1/completions", (HttpContext http) => CompleteAsync(http, sim, chat: false));
    }

    /// <summary>How long a request's prompt and generation took once it held a slot: llama.cpp's timings leave out the wait.</summary>
    private sealed record Work(int PromptTokens, TimeSpan Prompt, LimitedAnswer Answer, TimeSpan Generation);

    private static async Task CompleteAsync(HttpContext http, Simulator sim, bool chat)
    {
        sim.Counters.Received();
        using var linked = LinkedAbort(http, sim);
        var ct = linked.Token;
        var served = false;
        try
        {
            served = await ServeAsync(http, sim, chat, ct);
        }
        catch (Exception ex) when (ct.IsCancellationRequested && ex is OperationCanceledException or IOException)
        {
            // The client gave up (nothing left to answer) or the server is stopping.
            DropIfStopping(http);
        }
        finally
        {
            if (served)
            {
                sim.Counters.Served();
            }
            else
            {
                sim.Counters.Failed();
            }
        }
    }

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
            var work = await ComputeAsync(sim, request, decision, ct);
            return await AnswerAsync(http, sim, request, model.Name, decision.Fault, work, ct);
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
            // vLLM streams Server-Sent Events; the simulator answers whole, so it says so rather than answer differently.
            return request.Stream
                ? throw OpenAIError.BadRequest("stream: true is not supported by the simulator; send stream: false", "stream")
                : request;
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

    private static async Task<Work> ComputeAsync(Simulator sim, OpenAIRequest request, FaultDecision decision, CancellationToken ct)
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
        var prompt = time.GetElapsedTime(promptStart);
        sim.Tokens.Prompted(promptTokens, prompt.TotalSeconds);
        var generationStart = time.GetTimestamp();
        await lease.ProcessAsync(answer.OutputTokens * SimulatedModel.OutputTokenSeconds, ct);
        return new Work(promptTokens, prompt, answer, time.GetElapsedTime(generationStart));
    }

    /// <summary>Free text, or JSON in the requested response_format (broken when the dice say so), before max_tokens and stop.</summary>
    private static string AnswerText(OpenAIRequest request, FaultDecision decision) =>
        request.Format is not { } format ? SimulatedModel.AnswerFor(request.Question)
        : decision.ViolateSchema ? StructuredAnswer.Violating(request.Question, format)
        : StructuredAnswer.For(request.Question, format);

    private static async Task<bool> AnswerAsync(
        HttpContext http, Simulator sim, OpenAIRequest request, string model, Fault fault, Work work, CancellationToken ct)
    {
        if (fault == Fault.MidStream)
        {
            // The work was done (and paid for), then the server failed before answering.
            await WriteErrorAsync(http, StatusCodes.Status500InternalServerError, "InternalServerError", "simulated mid-stream failure", ct);
            return false;
        }

        sim.Tokens.Generated(work.Answer.OutputTokens, work.Generation.TotalSeconds, work.Answer.DoneReason);
        var json = Serialize(sim, request, model, work);
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

    private static byte[] Serialize(Simulator sim, OpenAIRequest request, string model, Work work)
    {
        var created = sim.Time.GetUtcNow().ToUnixTimeSeconds();
        var id = Guid.NewGuid().ToString("N");
        var answer = work.Answer;
        var usage = new OpenAIUsage(work.PromptTokens, work.PromptTokens + answer.OutputTokens, answer.OutputTokens);
        var timings = sim.Options.Flavor == ServerFlavor.LlamaCpp ? TimingsOf(work) : null;
        return request.Chat
            ? JsonSerializer.SerializeToUtf8Bytes(
                new OpenAIChatCompletion("chatcmpl-" + id, created, model, [new OpenAIChatChoice(0, new OpenAIMessage("assistant", answer.Text), answer.DoneReason)], usage)
                { Timings = timings },
                Json.OpenAIChatCompletion)
            : JsonSerializer.SerializeToUtf8Bytes(
                new OpenAITextCompletion("cmpl-" + id, created, model, [new OpenAITextChoice(0, answer.Text, answer.DoneReason)], usage)
                { Timings = timings },
                Json.OpenAITextCompletion);
    }

    /// <summary>llama.cpp's result_timings: from the slot's start of prompt processing, so the queue wait is not in them.</summary>
    private static LlamaCppTimings TimingsOf(Work work)
    {
        var promptMs = work.Prompt.TotalMilliseconds;
        var predictedMs = work.Generation.TotalMilliseconds;
        var predicted = work.Answer.OutputTokens;
        return new LlamaCppTimings(
            CacheN: 0,
            PromptN: work.PromptTokens,
            PromptMs: promptMs,
            PromptPerTokenMs: promptMs / work.PromptTokens,
            PromptPerSecond: promptMs > 0 ? 1e3 / promptMs * work.PromptTokens : 0,
            PredictedN: predicted,
            PredictedMs: predictedMs,
            PredictedPerTokenMs: predictedMs / predicted,
            PredictedPerSecond: predictedMs > 0 ? 1e3 / predictedMs * predicted : 0);
    }

    private static string? ModelField(JsonElement body) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
}
