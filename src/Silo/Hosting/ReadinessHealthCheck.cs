using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OrleansLlm.Options;
using OrleansLlm.Worker;

namespace OrleansLlm.Silo.Hosting;

/// <summary>
/// Ready means: the silo is active and its worker is taking work (not draining), and the Ollama beside it answers
/// and has the model. A load balancer or Kubernetes stops counting on the pod as soon as draining starts.
/// </summary>
public sealed class ReadinessHealthCheck(LocalWorkerState worker, IHttpClientFactory httpClients, IOptions<OllamaOptions> ollama) : IHealthCheck
{
    public const string HttpClientName = "ollama-health";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!worker.IsAccepting)
        {
            return HealthCheckResult.Unhealthy($"the worker is {worker.State?.ToString().ToLowerInvariant() ?? "not started"}");
        }

        try
        {
            var http = httpClients.CreateClient(HttpClientName);
            using var response = await http.GetAsync(new Uri(new Uri(ollama.Value.Url), "/api/tags"), cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return HealthCheckResult.Unhealthy($"Ollama at {ollama.Value.Url} answered HTTP {(int)response.StatusCode}");
            }

            var tags = await response.Content.ReadAsStringAsync(cancellationToken);
            return tags.Contains($"\"{ollama.Value.Model}\"", StringComparison.Ordinal)
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy($"Ollama at {ollama.Value.Url} does not have the model {ollama.Value.Model} yet");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return HealthCheckResult.Unhealthy($"Ollama at {ollama.Value.Url} does not answer: {ex.Message}");
        }
    }
}
