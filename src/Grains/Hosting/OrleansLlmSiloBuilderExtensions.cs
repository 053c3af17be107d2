using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OrleansLlm.Batches;
using OrleansLlm.Inference;
using OrleansLlm.Kubernetes;
using OrleansLlm.Ollama;
using OrleansLlm.OpenAiCompatible;
using OrleansLlm.Options;
using OrleansLlm.Placement;
using OrleansLlm.Queue;
using OrleansLlm.Recovery;
using OrleansLlm.Redis;
using OrleansLlm.Telemetry;
using OrleansLlm.Webhooks;
using OrleansLlm.Worker;

namespace OrleansLlm.Hosting;

public static class OrleansLlmSiloBuilderExtensions
{
    /// <summary>
    /// Adds the OrleansLlm grains' services to a silo: options bound from configuration and validated at start-up,
    /// the one Redis connection, the queue and the batch store, the model server's client (Ollama or OpenAI-compatible), silo-local placement, the
    /// worker's lifecycle, lease recovery, the silo's metrics, webhooks for batch ends, and Orleans' trace propagation through grain calls.
    /// </summary>
    public static ISiloBuilder AddOrleansLlm(this ISiloBuilder builder)
    {
        builder.Services.AddOrleansLlm();
        builder.Services.AddGrainCallExceptions();
        builder.AddActivityPropagation();
        builder.AddRedisGrainDirectory(WorkerGrain.DirectoryName, directory => directory.Configure<IOptions<RedisOptions>, RedisConnection>((o, redis, connection) =>
        {
            o.ConfigurationOptions = redis.Value.CreateConfiguration();
            o.CreateMultiplexer = async _ => (await connection.ConnectAsync(), IsShared: true);
        }));
        return builder;
    }

    public static IServiceCollection AddOrleansLlm(this IServiceCollection services)
    {
        services.AddValidatedOptions<RedisOptions, RedisOptionsValidator>(RedisOptions.Section);
        services.AddValidatedOptions<QueueOptions, QueueOptionsValidator>(QueueOptions.Section);
        services.AddValidatedOptions<OllamaOptions, OllamaOptionsValidator>(OllamaOptions.Section);
        services.AddValidatedOptions<BackendOptions, BackendOptionsValidator>(BackendOptions.Section);
        services.AddValidatedOptions<PromptOptions, PromptOptionsValidator>(PromptOptions.Section);
        services.AddValidatedOptions<WorkerOptions, WorkerOptionsValidator>(WorkerOptions.Section);

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RedisConnection>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, RedisConnectionLifecycle>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, QueueHashTagCheck>();
        services.TryAddSingleton(QueueClock.Redis);
        // The queue's partitions (Queue:Shards); every caller goes through them, so none reads one partition for all.
        services.TryAddSingleton<QueueShards>();
        services.TryAddSingleton<ShardedLeaseQueue>();
        services.TryAddSingleton<ShardedQueueItems>();
        services.TryAddSingleton<RedisMemory>();
        services.TryAddSingleton<ShardedBatchStore>();

        services.TryAddSingleton<InferenceMetrics>();
        services.AddHttpClient<OllamaBackend>((sp, http) =>
        {
            var ollama = sp.GetRequiredService<IOptions<OllamaOptions>>().Value;
            http.BaseAddress = new Uri(ollama.Url);
            http.Timeout = ollama.RequestTimeout;
        })
            // Each item is one request: the factory's two logging handlers (a scope and two Information lines per
            // request) cost CPU on every one. The worker logs each item itself, and InferenceMetrics times every call.
            .RemoveAllLoggers();
        services.AddOpenAiCompatibleBackend();
        // The worker sees the model server only through IInferenceBackend: Backend:Kind picks which one.
        services.TryAddTransient<IInferenceBackend>(sp => sp.GetRequiredService<IOptions<BackendOptions>>().Value.Kind == BackendKind.OpenAi
            ? sp.GetRequiredService<OpenAiCompatibleBackend>()
            : sp.GetRequiredService<OllamaBackend>());
        // Scoped: one per worker activation (Orleans gives each its own scope), shared by the grain and its WorkerQueue.
        services.TryAddScoped<ItemProcessor>();
        services.TryAddScoped<WorkerStatistics>();
        services.TryAddTransient<WorkerQueue>();
        services.TryAddTransient<CallSlots>();
        // One breaker per worker (transient), like its controller: each guards its own Ollama.
        services.TryAddTransient<BackendBreaker>();
        // One controller per worker (transient): each tracks its own Ollama.
        services.TryAddTransient<IConcurrencyController>(sp => sp.GetRequiredService<IOptions<WorkerOptions>>().Value.AdaptiveConcurrency
            ? ActivatorUtilities.CreateInstance<AdaptiveConcurrencyController>(sp)
            : ActivatorUtilities.CreateInstance<FixedConcurrencyController>(sp));

        services.AddPlacementDirector<SiloLocalPlacement, SiloLocalPlacementDirector>();

        services.TryAddTransient<ServedModels>();
        services.TryAddSingleton<LocalWorkerState>();
        services.TryAddSingleton<WorkerLifecycle>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<WorkerLifecycle>());
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, LeaseRecovery>();
        services.AddOrleansLlmMetrics();
        services.AddWebhooks();
        return services;
    }

    /// <summary>
    /// The OpenAI-compatible client and the reader of its server's queue. Both are configured from <c>Backend</c> only
    /// when resolved, which a silo on Ollama never does (its reader's lifecycle step does nothing).
    /// </summary>
    private static void AddOpenAiCompatibleBackend(this IServiceCollection services)
    {
        services.AddHttpClient<OpenAiCompatibleBackend>((sp, http) =>
        {
            var backend = sp.GetRequiredService<IOptions<BackendOptions>>().Value;
            http.BaseAddress = new Uri(backend.Url!);
            http.Timeout = backend.RequestTimeout;
        })
            // As for Ollama: no per-request log lines from the factory.
            .RemoveAllLoggers();
        services.TryAddSingleton<ServerQueueReader>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<ServerQueueReader>());
        services.AddHttpClient(ServerQueueReader.HttpClientName, (sp, http) =>
        {
            var backend = sp.GetRequiredService<IOptions<BackendOptions>>().Value;
            http.BaseAddress = new Uri(backend.Url!);
            if (backend.ApiKey is { Length: > 0 } key)
            {
                http.DefaultRequestHeaders.Authorization = new("Bearer", key);
            }
        })
            // Four reads a second would be eight log lines a second.
            .RemoveAllLoggers();
    }

    private static void AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.AddOptions<TOptions>().BindConfiguration(section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
    }
}
