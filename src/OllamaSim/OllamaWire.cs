using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace OllamaSim;

/// <summary>Reading requests and writing responses the way Ollama's server does.</summary>
internal static class OllamaWire
{
    private static OllamaJsonContext Json => OllamaJsonContext.Wire;

    /// <summary>
    /// Reads the JSON body regardless of Content-Type (curl -d sends form encoding), answering 400 like
    /// Ollama when it isn't valid JSON. Returns null when an error was written.
    /// </summary>
    public static async Task<T?> ReadBodyAsync<T>(HttpContext http, JsonTypeInfo<T> info, CancellationToken ct) where T : class
    {
        try
        {
            var value = await JsonSerializer.DeserializeAsync(http.Request.Body, info, ct);
            if (value is not null)
            {
                return value;
            }
        }
        catch (JsonException ex) when (ex.LineNumber == 0 && ex.BytePositionInLine == 0 && http.Request.ContentLength is null or 0)
        {
            // An empty body: Go's decoder reports io.EOF, which Ollama answers as "missing request body".
        }
        catch (JsonException ex)
        {
            await WriteErrorAsync(http, StatusCodes.Status400BadRequest, "invalid request body: " + ex.Message, ct);
            return null;
        }

        await WriteErrorAsync(http, StatusCodes.Status400BadRequest, "missing request body", ct);
        return null;
    }

    /// <summary>keep_alive of 0 (number or "0", "0s", ...) asks Ollama to unload the model after the request.</summary>
    public static bool IsZero(JsonElement? keepAlive) => keepAlive switch
    {
        { ValueKind: JsonValueKind.Number } n => n.GetDouble() == 0,
        { ValueKind: JsonValueKind.String } s => TryParseDuration(s.GetString()) == TimeSpan.Zero,
        _ => false,
    };

    /// <summary>Go's %q of raw bytes, as Ollama's error messages quote a request's value.</summary>
    public static string GoQuote(string raw)
    {
        var quoted = new StringBuilder(raw.Length + 2).Append('"');
        foreach (var c in raw)
        {
            quoted.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ => c.ToString(),
            });
        }

        return quoted.Append('"').ToString();
    }

    public static long Nanoseconds(TimeProvider time, long since) => time.GetElapsedTime(since).Ticks * 100;

    /// <summary>The request is cut off when the client disconnects, the web host stops, or the simulator is disposed.</summary>
    public static CancellationTokenSource LinkedAbort(HttpContext http, Simulator sim) =>
        CancellationTokenSource.CreateLinkedTokenSource(
            http.RequestAborted,
            http.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping,
            sim.Stopping);

    /// <summary>
    /// Serves one inference request and counts it: received, then served when <paramref name="serve"/> says it gave a
    /// complete answer, else failed. A request cut off (the client gone, the server stopping) ends quietly, its
    /// connection dropped if the server is stopping.
    /// </summary>
    public static async Task CountedAsync(HttpContext http, Simulator sim, Func<CancellationToken, Task<bool>> serve)
    {
        sim.Counters.Received();
        using var linked = LinkedAbort(http, sim);
        var ct = linked.Token;
        var served = false;
        try
        {
            served = await serve(ct);
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

    /// <summary>
    /// When a request was cut off by the server stopping rather than by its client, drops the connection, as a dying
    /// Ollama would: ending the response normally would pass an unfinished answer off as a complete empty one.
    /// </summary>
    public static void DropIfStopping(HttpContext http)
    {
        if (!http.RequestAborted.IsCancellationRequested)
        {
            http.Abort();
        }
    }

    public static Task WriteErrorAsync(HttpContext http, int status, string message, CancellationToken ct) =>
        WriteJsonAsync(http, status, new ErrorResponse(message), Json.ErrorResponse, ct);

    public static Task WriteJsonAsync<T>(HttpContext http, int status, T value, JsonTypeInfo<T> info, CancellationToken ct) =>
        WriteJsonAsync(http, status, JsonSerializer.SerializeToUtf8Bytes(value, info), ct);

    public static async Task WriteJsonAsync(HttpContext http, int status, byte[] json, CancellationToken ct)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        http.Response.ContentLength = json.Length;
        await http.Response.Body.WriteAsync(json, ct);
    }

    public static Task WriteLineAsync<T>(HttpContext http, T value, JsonTypeInfo<T> info, CancellationToken ct) =>
        WriteRawLineAsync(http, JsonSerializer.SerializeToUtf8Bytes(value, info), ct);

    /// <summary>One NDJSON line, flushed at once so the client sees it as it happens.</summary>
    public static async Task WriteRawLineAsync(HttpContext http, byte[] json, CancellationToken ct)
    {
        if (!http.Response.HasStarted)
        {
            http.Response.StatusCode = StatusCodes.Status200OK;
            http.Response.ContentType = "application/x-ndjson";
        }

        var line = new byte[json.Length + 1];
        json.CopyTo(line, 0);
        line[^1] = (byte)'\n';
        await http.Response.Body.WriteAsync(line, ct);
        await http.Response.Body.FlushAsync(ct);
    }

    private static TimeSpan? TryParseDuration(string? text)
    {
        try
        {
            return text is null ? null : Durations.Parse(text);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}
