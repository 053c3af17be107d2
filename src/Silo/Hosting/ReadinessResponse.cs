using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace OrleansLlm.Silo.Hosting;

/// <summary>
/// Writes <c>/readyz</c>'s body: <c>{"status": "Healthy"|"Unhealthy", "checks": [{"name", "ok", "reason"}]}</c>,
/// naming each check and why it failed, instead of a bare "Unhealthy".
/// </summary>
public static class ReadinessResponse
{
    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        await using var w = new Utf8JsonWriter(context.Response.Body, JsonText.WriterOptions);
        w.WriteStartObject();
        w.WriteString("status", report.Status.ToString());
        w.WriteStartArray("checks");
        foreach (var (name, entry) in report.Entries)
        {
            var parts = entry.Data.Values.OfType<ReadinessCheck>().ToArray();
            if (parts.Length == 0)
            {
                // A check that names no parts (or threw) is shown as itself.
                parts = [new ReadinessCheck(name, entry.Status == HealthStatus.Healthy, entry.Description ?? entry.Exception?.Message)];
            }

            foreach (var check in parts)
            {
                w.WriteStartObject();
                w.WriteString("name", check.Name);
                w.WriteBoolean("ok", check.Ok);
                if (check.Reason is { } reason)
                {
                    w.WriteString("reason", reason);
                }

                w.WriteEndObject();
            }
        }

        w.WriteEndArray();
        w.WriteEndObject();
        await w.FlushAsync(context.RequestAborted);
    }
}
