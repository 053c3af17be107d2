using static OllamaSim.OllamaWire;

namespace OllamaSim;

/// <summary>
/// Ollama's routes the simulator does not implement answer 501 with a JSON error naming the route, and unknown
/// routes a JSON 404 (wrong methods a JSON 405), so a client never mistakes them for a bare "Not Found", which
/// Ollama's clients show just like a missing model.
/// </summary>
/// <remarks>
/// Ollama's own router (gin) answers unknown routes with a plain-text "404 page not found" and wrong methods with
/// "405 method not allowed"; the simulator sends the same words as <c>{"error": ...}</c>.
/// </remarks>
internal static class UnsupportedEndpoints
{
    /// <summary>The rest of Ollama's router (server/routes.go GenerateRoutes), by method and route pattern.</summary>
    public static readonly IReadOnlyList<(string Method, string Pattern)> Routes =
    [
        ("GET", "/api/status"),
        ("POST", "/api/push"),
        ("POST", "/api/me"),
        ("POST", "/api/signout"),
        ("DELETE", "/api/user/keys/{encodedKey}"),
        ("POST", "/api/create"),
        ("POST", "/api/blobs/{digest}"),
        ("HEAD", "/api/blobs/{digest}"),
        ("POST", "/api/experimental/web_search"),
        ("POST", "/api/experimental/web_fetch"),
        ("GET", "/api/experimental/model-recommendations"),
        ("POST", "/v1/chat/completions"),
        ("POST", "/v1/completions"),
        ("POST", "/v1/embeddings"),
        ("GET", "/v1/models"),
        ("GET", "/v1/models/{model}"),
        ("POST", "/v1/responses"),
        ("POST", "/v1/audio/transcriptions"),
        ("POST", "/v1/messages"),
    ];

    public static void Map(WebApplication app)
    {
        foreach (var group in Routes.GroupBy(r => r.Pattern))
        {
            var methods = group.Select(r => r.Method).ToArray();
            app.MapMethods(group.Key, methods, (HttpContext http) => WriteErrorAsync(
                http,
                StatusCodes.Status501NotImplemented,
                $"{http.Request.Method} {http.Request.Path} is not supported by the simulator",
                http.RequestAborted));
        }

        // Routing answers an unknown path 404 and a known path with the wrong method 405, both without a body.
        app.UseStatusCodePages(context => context.HttpContext.Response.StatusCode switch
        {
            StatusCodes.Status404NotFound => WriteErrorAsync(context.HttpContext, StatusCodes.Status404NotFound, "404 page not found", context.HttpContext.RequestAborted),
            StatusCodes.Status405MethodNotAllowed => WriteErrorAsync(context.HttpContext, StatusCodes.Status405MethodNotAllowed, "405 method not allowed", context.HttpContext.RequestAborted),
            _ => Task.CompletedTask,
        });
    }
}
