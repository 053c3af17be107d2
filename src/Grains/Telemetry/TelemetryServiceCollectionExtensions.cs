using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace OrleansLlm.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>
    /// Adds the silo's instruments on the <see cref="OrleansLlmTelemetry.MeterName"/> meter that live here: the worker's
    /// and the queue's (the model server's, <c>InferenceMetrics</c>, come with its client). They cost next to nothing until
    /// something listens (OpenTelemetry's Prometheus exporter in the silo host, a test's <c>MeterListener</c>).
    /// </summary>
    public static IServiceCollection AddOrleansLlmMetrics(this IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton<WorkerMetrics>();
        if (!services.Any(d => d.ServiceType == typeof(QueueMetrics)))
        {
            services.AddSingleton<QueueMetrics>();
            services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<QueueMetrics>());
        }

        return services;
    }
}
