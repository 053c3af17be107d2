using System.Text.Json;
using static OllamaSim.OllamaWire;

namespace OllamaSim;

/// <summary>
/// POST /api/embed and the older /api/embeddings, in Ollama's shapes (server/routes.go EmbedHandler,
/// EmbeddingsHandler). Vectors are deterministic: see <see cref="SimulatedEmbedding"/>. Embedding requests take a slot and
/// cost their prompt tokens like a generate's prompt; the error, unavailable, fail-prompt, hang and mid-stream faults
/// apply to them (mid-stream as a 500 after the work), the no-done and schema faults do not.
/// </summary>
internal static class EmbeddingEndpoints
{
    private static OllamaJsonContext Json => OllamaJsonContext.Wire;

    public static void Map(WebApplication app, Simulator sim)
    {
        app.MapPost("/api/embed", (HttpContext http) => EmbeddingAsync(http, sim, EmbedAsync));
        app.MapPost("/api/embeddings", (HttpContext http) => EmbeddingAsync(http, sim, EmbeddingsAsync));
    }

    private static Task EmbeddingAsync(HttpContext http, Simulator sim, Func<HttpContext, Simulator, CancellationToken, Task<bool>> serve) =>
        CountedAsync(http, sim, ct => AnsweringErrorsAsync(http, sim, ct, serve));

    /// <summary>Serves an embedding request; a refusal (<see cref="OllamaError"/>) is answered with its status and counts as failed.</summary>
    private static async Task<bool> AnsweringErrorsAsync(HttpContext http, Simulator sim, CancellationToken ct, Func<HttpContext, Simulator, CancellationToken, Task<bool>> serve)
    {
        try
        {
            return await serve(http, sim, ct);
        }
        catch (OllamaError ex) when (!http.Response.HasStarted)
        {
            await WriteErrorAsync(http, ex.Status, ex.Message, ct);
            return false;
        }
    }

    private static async Task<bool> EmbedAsync(HttpContext http, Simulator sim, CancellationToken ct)
    {
        var started = sim.Time.GetTimestamp();
        var request = await ReadBodyAsync(http, Json.EmbedRequest, ct);
        if (request is null)
        {
            return false;
        }

        var inputs = Inputs(request.Input);
        sim.Requests.Record(new RecordedRequest
        {
            Path = "/api/embed",
            Model = request.Model,
            Prompt = inputs?.FirstOrDefault(),
            Options = request.Options,
            KeepAlive = request.KeepAlive,
        });
        if (inputs is null)
        {
            throw new OllamaError(StatusCodes.Status400BadRequest, "invalid input type");
        }

        var model = string.IsNullOrWhiteSpace(request.Model) ? null : sim.Models.Find(request.Model);
        if (model is null)
        {
            throw new OllamaError(StatusCodes.Status404NotFound, $"model '{request.Model}' not found");
        }

        RequestOptions.Parse(request.Options);
        var (loadNs, tokens) = await ComputeAsync(http, sim, model, inputs, ct);
        if (tokens < 0)
        {
            return false;
        }

        var embeddings = inputs.Select(text => Normalised(SimulatedEmbedding.For(text), request.Dimensions)).ToArray();
        var response = inputs.Count == 0
            ? new EmbedResponse(request.Model!, [])
            : new EmbedResponse(request.Model!, embeddings, Nanoseconds(sim.Time, started), loadNs, tokens);
        await WriteJsonAsync(http, StatusCodes.Status200OK, response, Json.EmbedResponse, ct);
        return true;
    }

    private static async Task<bool> EmbeddingsAsync(HttpContext http, Simulator sim, CancellationToken ct)
    {
        var request = await ReadBodyAsync(http, Json.EmbeddingRequest, ct);
        if (request is null)
        {
            return false;
        }

        sim.Requests.Record(new RecordedRequest
        {
            Path = "/api/embeddings",
            Model = request.Model,
            Prompt = request.Prompt,
            Options = request.Options,
            KeepAlive = request.KeepAlive,
        });
        var model = await OllamaEndpoints.FindModelAsync(http, sim, request.Model, ct);
        if (model is null)
        {
            return false;
        }

        RequestOptions.Parse(request.Options);
        var prompt = request.Prompt ?? "";
        var inputs = prompt.Length == 0 ? [] : new List<string> { prompt };
        var (_, tokens) = await ComputeAsync(http, sim, model, inputs, ct);
        if (tokens < 0)
        {
            return false;
        }

        // Unlike /api/embed, the older endpoint returns the model's vector as it is, not normalised.
        var embedding = inputs.Count == 0 ? [] : SimulatedEmbedding.For(prompt).Select(v => (double)v).ToArray();
        await WriteJsonAsync(http, StatusCodes.Status200OK, new EmbeddingResponse(embedding), Json.EmbeddingResponse, ct);
        return true;
    }

    /// <summary>
    /// Faults, model load and the slot: returns the load time and the prompt tokens computed, or tokens −1 when an
    /// error was written. No inputs just loads the model, as in Ollama.
    /// </summary>
    private static async Task<(long LoadNs, int Tokens)> ComputeAsync(
        HttpContext http, Simulator sim, ModelEntry model, IReadOnlyList<string> inputs, CancellationToken ct)
    {
        var faults = sim.Faults.Current;
        var decision = sim.Faults.Decide(faults, string.Join("\n", inputs));
        switch (decision.Fault)
        {
            case Fault.FailPrompt or Fault.Error:
                await WriteErrorAsync(http, StatusCodes.Status500InternalServerError, "simulated failure", ct);
                return (0, -1);
            case Fault.Unavailable:
                await WriteErrorAsync(http, StatusCodes.Status503ServiceUnavailable, "server busy", ct);
                return (0, -1);
        }

        var loadStart = sim.Time.GetTimestamp();
        await sim.Models.EnsureLoadedAsync(model, faults.LoadDelay, sim.Stopping, ct);
        var loadNs = Nanoseconds(sim.Time, loadStart);
        if (inputs.Count == 0)
        {
            return (loadNs, 0);
        }

        var tokens = inputs.Sum(SimulatedEmbedding.Tokens);
        using (var lease = await sim.Scheduler.AcquireAsync(ct))
        {
            if (decision.Fault == Fault.Hang)
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, sim.Time, ct);
            }

            await lease.ProcessAsync(tokens * SimulatedModel.PromptTokenSeconds, ct);
        }

        if (decision.Fault == Fault.MidStream)
        {
            await WriteErrorAsync(http, StatusCodes.Status500InternalServerError, "simulated mid-stream failure", ct);
            return (0, -1);
        }

        return (loadNs, tokens);
    }

    /// <summary>A string gives one input ("" none), an array of strings one each; null for anything else (Ollama's "invalid input type").</summary>
    private static List<string>? Inputs(JsonElement? input) => input switch
    {
        null or { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => [],
        { ValueKind: JsonValueKind.String } s => s.GetString() is { Length: > 0 } text ? [text] : [],
        { ValueKind: JsonValueKind.Array } a when a.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) =>
            a.EnumerateArray().Select(e => e.GetString()!).ToList(),
        _ => null,
    };

    /// <summary>Ollama normalises /api/embed vectors to unit length, and again after cutting them to <c>dimensions</c>.</summary>
    private static float[] Normalised(float[] raw, int? dimensions)
    {
        var vector = SimulatedEmbedding.Normalise(raw);
        return dimensions is { } d && d > 0 && d < vector.Length ? SimulatedEmbedding.Normalise(vector[..d]) : vector;
    }
}
