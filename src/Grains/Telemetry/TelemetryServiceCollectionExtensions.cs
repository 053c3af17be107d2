using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace OrleansLlm.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>
    /// Adds the silo's instruments on the <see cref="OrleansLlmTelemetry.MeterName"/> meter: the worker's, Ollama's and
    /// the queue's. They cost next to nothing until something listens (OpenTelemetry's Prometheus exporter in the silo
    /// host, a test's <c>MeterListener</c>).
    /// </summary>
    public static IServiceCollection AddOrleansLlmMetrics(this IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton<WorkerMetrics>();
        services.TryAddSingleton<OllamaMetrics>();
        if (!services.Any(d => d.ServiceType == typeof(QueueMetrics)))
        {
            services.AddSingleton<QueueMetrics>();
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<QueueMetrics>());
        }

        return services;
    }
}
