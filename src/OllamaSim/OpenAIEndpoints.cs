using static OllamaSim.OllamaWire;

namespace OllamaSim;

/// <summary>
/// The OpenAI-compatible API of <see cref="SimulatorApi.OpenAI"/>, shaped like vLLM's server
/// (vllm/entrypoints/openai/api_server.py and its routers): /v1/chat/completions and /v1/completions
/// (<see cref="OpenAICompletions"/>), /v1/models, /health and /metrics. Ollama's /api routes are not there.
/// </summary>
internal static class OpenAIEndpoints
{
    private static OpenAIJsonContext Json => OpenAIJsonContext.Wire;

    public static void Map(WebApplication app, Simulator sim)
    {
        if (sim.Options.ApiKey is { } key)
        {
            app.Use((http, next) => Authorised(http, key) ? next(http) : RefuseAsync(http));
        }

        // vLLM: 200 with no body while the engine lives (serve/instrumentator/health.py); llama.cpp says {"status":"ok"}.
        app.MapGet("/health", () => sim.Options.Flavor == ServerFlavor.LlamaCpp
            ? Results.Text("""{"status":"ok"}""", "application/json; charset=utf-8")
            : Results.Ok());
        if (sim.Options.Flavor != ServerFlavor.Plain)
        {
            app.MapGet("/metrics", () => Results.Text(ServerMetrics.Render(sim), PrometheusText.ContentType));
        }

        app.MapGet("/v1/models", () => Results.Json(ModelsOf(sim), Json.OpenAIModelList));
        OpenAICompletions.Map(app, sim);

        // FastAPI's answers to a route it lacks and a method a route does not take, both as JSON.
        app.UseStatusCodePages(context => context.HttpContext.Response.StatusCode switch
        {
            StatusCodes.Status404NotFound => WriteJsonAsync(context.HttpContext, StatusCodes.Status404NotFound, new NotFoundDetail("Not Found"), Json.NotFoundDetail, context.HttpContext.RequestAborted),
            StatusCodes.Status405MethodNotAllowed => WriteJsonAsync(context.HttpContext, StatusCodes.Status405MethodNotAllowed, new NotFoundDetail("Method Not Allowed"), Json.NotFoundDetail, context.HttpContext.RequestAborted),
            _ => Task.CompletedTask,
        });
    }

    /// <summary>
    /// vLLM's AuthenticationMiddleware (entrypoints/serve/middleware/authenticate.py): only paths under /v1 need the
    /// key (so /health and /metrics stay open), OPTIONS never does, and the scheme is case-insensitive.
    /// </summary>
    private static bool Authorised(HttpContext http, string key)
    {
        if (!http.Request.Path.StartsWithSegments("/v1", StringComparison.Ordinal) || HttpMethods.IsOptions(http.Request.Method))
        {
            return true;
        }

        var header = http.Request.Headers.Authorization.ToString();
        var space = header.IndexOf(' ', StringComparison.Ordinal);
        return space > 0
            && header[..space].Equals("bearer", StringComparison.OrdinalIgnoreCase)
            && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.UTF8.GetBytes(header[(space + 1)..]), System.Text.Encoding.UTF8.GetBytes(key));
    }

    private static Task RefuseAsync(HttpContext http) =>
        WriteJsonAsync(http, StatusCodes.Status401Unauthorized, new ErrorResponse("Unauthorized"), OllamaJsonContext.Wire.ErrorResponse, http.RequestAborted);

    /// <summary>vLLM's ModelCard per served model (engine/protocol.py); owned_by names the flavor's server.</summary>
    private static OpenAIModelList ModelsOf(Simulator sim)
    {
        var owner = sim.Options.Flavor switch
        {
            ServerFlavor.Sglang => "sglang",
            ServerFlavor.LlamaCpp => "llamacpp",
            _ => "vllm",
        };
        return new OpenAIModelList(sim.Models.List()
            .Select(m => new OpenAIModelCard(m.Name, new DateTimeOffset(m.ModifiedAt, TimeSpan.Zero).ToUnixTimeSeconds(), owner, m.Name, MaxModelLen: 4096))
            .ToList());
    }
}
