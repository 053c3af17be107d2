using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.TestingHost;
using OrleansLlm.Hosting;
using OrleansLlm.Inference;
using OrleansLlm.Ollama;
using OrleansLlm.OpenAiCompatible;
using OrleansLlm.Worker;

namespace OrleansLlm.Benchmarks.Designs;

/// <summary>
/// Design D, OrleansLlm itself: an in-process Orleans cluster with one silo per backend, silo i configured with
/// <c>Ollama:Url</c> = backend i (or, beside an OpenAI-compatible server, <c>Backend:Kind</c> OpenAi and its URL), real Redis, <c>AddOrleansLlm()</c> and whatever concurrency controller it
/// registers, capped by <c>Worker:MaxConcurrency</c>. Items are pushed raw, as Bento would.
/// </summary>
public sealed class OrleansDesign : IDesign
{
    public string Id => "D";

    /// <summary>
    /// D's cluster: <paramref name="silos"/> silos to start with, each given the backend <paramref name="backendOfNextSilo"/>
    /// returns as it is created (also for silos started later), real Redis and <c>AddOrleansLlm()</c>.
    /// </summary>
    public static InProcessTestClusterBuilder CreateBuilder(short silos, DesignContext context, Func<Uri> backendOfNextSilo)
    {
        var builder = new InProcessTestClusterBuilder(silos);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureHost(host =>
        {
            // Silo logs would bury the tables on stdout: warnings and errors only, on stderr.
            host.Logging.ClearProviders();
            host.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            host.Logging.SetMinimumLevel(LogLevel.Warning);
            // Start-up advice (server GC) and the watchdog's complaints when two cores run everything: not news here.
            host.Logging.AddFilter("Orleans.Runtime.Silo", LogLevel.Error);
            host.Logging.AddFilter("Orleans.Runtime.Watchdog", LogLevel.Error);
        });
        builder.ConfigureSiloHost((_, host) =>
        {
            var backend = backendOfNextSilo();
            var settings = new Dictionary<string, string?>
            {
                ["Redis:ConnectionString"] = context.Redis.ConnectionString,
                ["Queue:Name"] = context.Keys.Name,
                ["Ollama:Url"] = backend.ToString(),
                ["Ollama:RequestTimeout"] = context.CallTimeout.ToString(),
                ["Worker:MaxConcurrency"] = context.Options.DMaxConcurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Worker:DrainTimeout"] = "00:00:05",
            };
            if (context.SpecOf(backend) is { StartAtSlots: true } spec)
            {
                // As the gpu overlay starts a GPU pod's silo: at its Ollama's OLLAMA_NUM_PARALLEL.
                settings["Worker:InitialConcurrency"] = spec.Parallel.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            if (context.IsOpenAi(backend))
            {
                // Beside a continuous-batching server the silo speaks its API, and reads its queue from /metrics.
                settings["Backend:Kind"] = "OpenAi";
                settings["Backend:Url"] = backend.ToString();
                settings["Backend:Model"] = OllamaDefaults.Model;
                settings["Backend:RequestTimeout"] = context.CallTimeout.ToString();
            }

            host.Configuration.AddInMemoryCollection(settings);
        });
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddOrleansLlm();
            // Measure Ollama's queue waits the same way as for A/B/C, on the silos' own Ollama client.
            silo.Services.AddHttpClient<OllamaBackend>().AddHttpMessageHandler(() => context.Recorder.CreateHandler());
            silo.Services.AddHttpClient<OpenAiCompatibleBackend>().AddHttpMessageHandler(() => context.Recorder.CreateHandler());
        });
        return builder;
    }

    public string Describe(Scenario scenario, BenchmarkOptions options) =>
        $"OrleansLlm: {scenario.Backends.Count} silos, silo i → backend i, {Controller(options)}" +
        (scenario.Backends.Any(b => b.StartAtSlots) ? "; a silo beside a backend marked \"D starts at N\" starts at N (Worker:InitialConcurrency)" : "");

    /// <summary>
    /// Which concurrency controller AddOrleansLlm() registers with D's settings, and its starting limit: resolved
    /// from the real registration rather than assumed, since the controller is what D is about.
    /// </summary>
    public static string Controller(BenchmarkOptions options)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Worker:MaxConcurrency"] = options.DMaxConcurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging();
        services.AddOrleansLlm();
        using var provider = services.BuildServiceProvider();
        var controller = provider.GetRequiredService<IConcurrencyController>();
        return $"{controller.GetType().Name} starting at {controller.Limit} in flight, capped at {options.DMaxConcurrency} (Worker:MaxConcurrency)";
    }

    public async Task<IAsyncDisposable> StartAsync(DesignContext context, CancellationToken cancellationToken)
    {
        var backends = context.Backends;
        var configured = 0;
        var gate = new Lock();
        var builder = CreateBuilder((short)backends.Count, context, () =>
        {
            // Called once per silo as it is created: the n-th silo gets the n-th backend, a bijection either way.
            lock (gate)
            {
                return backends[configured++ % backends.Count];
            }
        });

        var cluster = builder.Build();
        try
        {
            // DeployAsync returns once every silo is active, and the worker lifecycle starts each worker at that stage.
            await cluster.DeployAsync().WaitAsync(TimeSpan.FromMinutes(2), cancellationToken);
            return new OrleansRun(cluster, backends);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }
}
