using System.Text.Json;
using static OllamaSim.OllamaWire;

namespace OllamaSim;

/// <summary>Reading requests and writing answers and errors the way vLLM's OpenAI-compatible server does.</summary>
internal static class OpenAIWire
{
    private static readonly byte[] Data = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();

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

    /// <summary>One Server-Sent Event, <c>data: {json}</c>, flushed at once so the client sees the token as it comes.</summary>
    public static async Task WriteEventAsync(HttpContext http, ReadOnlyMemory<byte> json, CancellationToken ct)
    {
        if (!http.Response.HasStarted)
        {
            http.Response.StatusCode = StatusCodes.Status200OK;
            http.Response.ContentType = "text/event-stream; charset=utf-8";
        }

        await http.Response.Body.WriteAsync(Data, ct);
        await http.Response.Body.WriteAsync(json, ct);
        await http.Response.Body.WriteAsync(EventEnd, ct);
        await http.Response.Body.FlushAsync(ct);
    }

    /// <summary>The stream's end, <c>data: [DONE]</c>, as OpenAI and vLLM send it.</summary>
    public static Task WriteDoneAsync(HttpContext http, CancellationToken ct) => WriteEventAsync(http, "[DONE]"u8.ToArray(), ct);

    /// <summary>An error inside a stream that already answered 200: vLLM sends it as an event, then [DONE].</summary>
    public static async Task WriteErrorEventAsync(HttpContext http, int status, string type, string message, CancellationToken ct)
    {
        var error = new OpenAIErrorBody(new OpenAIErrorInfo(message, type, null, status));
        await WriteEventAsync(http, JsonSerializer.SerializeToUtf8Bytes(error, Json.OpenAIErrorBody), ct);
        await WriteDoneAsync(http, ct);
    }

    public static Task WriteErrorAsync(HttpContext http, OpenAIError error, CancellationToken ct) =>
        WriteJsonAsync(http, error.Status, new OpenAIErrorBody(new OpenAIErrorInfo(error.Message, error.Type, error.Param, error.Status)), Json.OpenAIErrorBody, ct);

    public static Task WriteErrorAsync(HttpContext http, int status, string type, string message, CancellationToken ct) =>
        WriteErrorAsync(http, new OpenAIError(status, type, message), ct);
}
