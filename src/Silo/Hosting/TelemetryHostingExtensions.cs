using System.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using OrleansLlm.Telemetry;

namespace OrleansLlm.Silo.Hosting;

public static class TelemetryHostingExtensions
{
    /// <summary>The variable (or setting) that turns the OTLP exporter on: the collector's address.</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>
    /// OpenTelemetry for the silo. Metrics always: the silo's own (<c>orleansllm_*</c>, <c>gen_ai.client.*</c>), Orleans',
    /// ASP.NET Core's, HttpClient's and the .NET runtime's, served at <c>/metrics</c> for Prometheus. Traces and the OTLP
    /// exporter (metrics, traces and logs) only when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, since spans kept for
    /// no one cost every item something.
    /// </summary>
    public static WebApplicationBuilder AddOrleansLlmTelemetry(this WebApplicationBuilder builder)
    {
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(builder.Configuration["OTEL_SERVICE_NAME"] ?? "orleansllm-silo"))
            .WithMetrics(metrics => metrics
                .AddMeter(
                    OrleansLlmTelemetry.MeterName,
                    "Microsoft.Orleans",
                    "Microsoft.AspNetCore.Hosting",
                    "Microsoft.AspNetCore.Server.Kestrel",
                    "System.Net.Http",
                    "System.Runtime")
                .AddView(PrometheusCompatible)
                .AddPrometheusExporter());

        if (!string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointVariable]))
        {
            // Orleans files this app's grain calls (client to batch grain, worker to coordinator) under its runtime
            // source, not the application one: their interfaces' namespace, OrleansLlm, starts with "Orleans".
            otel.WithTracing(tracing => tracing.AddSource(OrleansLlmTelemetry.AllActivitySources, "Microsoft.Orleans.Application", "Microsoft.Orleans.Runtime"));
            otel.UseOtlpExporter();
        }

        return builder;
    }

    // Orleans' own tags that are snake_case; the others (Direction, Destination, Phase, ...) are left out, see below.
    private static readonly string[] OrleansTagKeys = ["type", "silo", "grain_type", "state_type", "state_name", "provider_type_name", "duration"];

    /// <summary>
    /// Keeps <c>/metrics</c> clean for <c>promtool check metrics</c>: what other meters publish against Prometheus'
    /// conventions is left out, and Orleans' instruments, which have no description, get one.
    /// </summary>
    /// <remarks>
    /// Left out: Orleans' instruments in milliseconds or megabytes (Prometheus wants base units, and a view cannot
    /// convert values; the .NET runtime's own metrics cover memory), the camelCase tags of Orleans' messaging
    /// instruments (their values are summed over), and the runtime's <c>dotnet.*.count</c> gauges (Prometheus reserves
    /// <c>_count</c> for histograms).
    /// </remarks>
    private static MetricStreamConfiguration? PrometheusCompatible(Instrument instrument) => instrument.Meter.Name switch
    {
        "Microsoft.Orleans" when instrument.Unit is "ms" or "MB" => MetricStreamConfiguration.Drop,
        "Microsoft.Orleans" => new MetricStreamConfiguration
        {
            Description = string.IsNullOrEmpty(instrument.Description) ? $"Orleans: {instrument.Name.Replace('-', ' ')}." : null,
            TagKeys = OrleansTagKeys,
        },
        "System.Runtime" when instrument.Name.EndsWith(".count", StringComparison.Ordinal) => MetricStreamConfiguration.Drop,
        _ => null,
    };

    /// <summary>Maps <c>/metrics</c>, in Prometheus' text format.</summary>
    public static WebApplication MapOrleansLlmMetrics(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint();
        return app;
    }
}
