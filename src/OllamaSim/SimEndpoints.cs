using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Primitives;

namespace OllamaSim;

/// <summary>
/// The simulator's control API under /sim. These never touch the slot queue, so they answer
/// immediately even when hundreds of requests are waiting.
/// </summary>
internal static class SimEndpoints
{
    private static SimJsonContext Json => SimJsonContext.Wire;

    public static void Map(WebApplication app, Simulator sim)
    {
        app.MapGet("/sim/stats", () => Results.Json(sim.GetStats(), Json.SimulatorStats));
        app.MapPost("/sim/reset", () =>
        {
            sim.ResetStats();
            return Results.Json(sim.GetStats(), Json.SimulatorStats);
        });
        app.MapGet("/sim/faults", () => Results.Json(FaultsView.From(sim.Faults.Current), Json.FaultsView));
        // The return type is spelled out: a lambda that may return a plain Task binds as a RequestDelegate, which
        // would drop the result and answer an empty 200.
        app.MapPost("/sim/faults", Task<IResult> (HttpContext http) => UpdateFaultsAsync(http, sim));
        app.MapGet("/sim/speed", () => Results.Json(new SpeedBody(sim.Scheduler.Speed), Json.SpeedBody));
        app.MapPost("/sim/speed", Task<IResult> (HttpContext http) => SetSpeedAsync(http, sim));
        app.MapGet("/sim/requests", (HttpContext http) => ReadRequests(http, sim));
        app.MapDelete("/sim/requests", () =>
        {
            sim.Requests.Clear();
            return Results.NoContent();
        });
        app.MapPost("/sim/unload", () =>
        {
            // The next request pays the load delay again, as after Ollama unloads an idle model.
            sim.Models.Unload();
            return Results.NoContent();
        });
    }

    private static async Task<IResult> UpdateFaultsAsync(HttpContext http, Simulator sim)
    {
        var patch = await ReadAsync(http, Json.FaultsPatch);
        if (patch is null)
        {
            return BadRequest("expected a JSON object like {\"errorRate\":0.1}");
        }

        try
        {
            var faults = sim.Faults.Update(patch.ApplyTo);
            return Results.Json(FaultsView.From(faults), Json.FaultsView);
        }
        catch (ArgumentException ex)
        {
            return BadRequest(ex.Message);
        }
    }

    private static async Task<IResult> SetSpeedAsync(HttpContext http, Simulator sim)
    {
        var body = await ReadAsync(http, Json.SpeedBody);
        if (body is null || !(body.Speed > 0 && double.IsFinite(body.Speed)))
        {
            return BadRequest("expected {\"speed\": F} with F > 0, e.g. 0.333 for three times slower");
        }

        sim.Scheduler.SetSpeed(body.Speed);
        return Results.Json(new SpeedBody(sim.Scheduler.Speed), Json.SpeedBody);
    }

    private static IResult ReadRequests(HttpContext http, Simulator sim)
    {
        var query = http.Request.Query;
        if (!TryParseQuery(query["limit"], out int? limit) || limit < 0)
        {
            return BadRequest("limit must be a whole number >= 0");
        }

        if (!TryParseQuery(query["since"], out long? since))
        {
            return BadRequest("since must be a whole number (a request's sequence)");
        }

        return Results.Json(sim.Requests.Read(limit, since), Json.RecordedRequests);
    }

    private static IResult BadRequest(string message) =>
        Results.Json(new SimError(message), Json.SimError, statusCode: StatusCodes.Status400BadRequest);

    private static bool TryParseQuery<T>(StringValues values, out T? value) where T : struct, IParsable<T>
    {
        value = null;
        if (StringValues.IsNullOrEmpty(values))
        {
            return true;
        }

        if (!T.TryParse(values.ToString(), CultureInfo.InvariantCulture, out var parsed))
        {
            return false;
        }

        value = parsed;
        return true;
    }

    private static async Task<T?> ReadAsync<T>(HttpContext http, JsonTypeInfo<T> info) where T : class
    {
        try
        {
            return await JsonSerializer.DeserializeAsync(http.Request.Body, info, http.RequestAborted);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
