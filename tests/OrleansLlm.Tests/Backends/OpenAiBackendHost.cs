using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OllamaSim;
using OrleansLlm.Hosting;
using OrleansLlm.Inference;
using OrleansLlm.OpenAiCompatible;

namespace OrleansLlm.Tests.Backends;

/// <summary>
/// A silo's services as <c>AddOrleansLlm</c> registers them, without the silo: the backend that <c>Backend:Kind</c>
/// picks for a simulator (<see cref="Infrastructure.SimulatorBackend"/>) and its server's queue reader, reading.
/// </summary>
internal sealed class OpenAiBackendHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private OpenAiBackendHost(ServiceProvider services) => _services = services;

    public IInferenceBackend Backend => _services.GetRequiredService<IInferenceBackend>();

    public ServerQueueReader Queue => _services.GetRequiredService<ServerQueueReader>();

    public IServiceProvider Services => _services;

    /// <param name="configure">More services, after the silo's (a test's handler or logger).</param>
    public static async Task<OpenAiBackendHost> StartAsync(
        SimulatorServer simulator, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? configure = null)
    {
        var configuration = new Dictionary<string, string?>(Infrastructure.SimulatorBackend.SettingsFor(simulator))
        {
            // Several readings within one simulated request.
            ["Backend:MetricsInterval"] = "00:00:00.020",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(configuration).Build());
        services.AddOrleansLlm();
        configure?.Invoke(services);
        var host = new OpenAiBackendHost(services.BuildServiceProvider());
        await host.Queue.Start();
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        await Queue.StopAsync();
        await _services.DisposeAsync();
    }
}
