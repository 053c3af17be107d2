using System.Text.Json;
using static OllamaSim.OllamaWire;

namespace OllamaSim;

/// <summary>Reading requests and writing answers and errors the way vLLM's OpenAI-compatible server does.</summary>
internal static class OpenAIWire
{
    private static OpenAIJsonContext Json => OpenAIJsonContext.Wire;

    /// <summary>The body as raw JSON, whatever its Content-Type; 400 (vLLM's json_invalid) when it is not JSON.</summary>
    public static async Task<JsonElement> ReadBodyAsync(HttpContext http, CancellationToken ct)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync(http.Request.Body, Json.JsonElement, ct);
        }
        catch (JsonException ex)
        {
            throw OpenAIError.BadRequest("JSON decode error: " + ex.Message);
        }
    }

    public static Task WriteErrorAsync(HttpContext http, OpenAIError error, CancellationToken ct) =>
        WriteJsonAsync(http, error.Status, new OpenAIErrorBody(new OpenAIErrorInfo(error.Message, error.Type, error.Param, error.Status)), Json.OpenAIErrorBody, ct);

    public static Task WriteErrorAsync(HttpContext http, int status, string type, string message, CancellationToken ct) =>
        WriteErrorAsync(http, new OpenAIError(status, type, message), ct);
}
