using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OrleansLlm.Ollama;
using OrleansLlm.Options;
using OrleansLlm.Placement;
using OrleansLlm.Queue;
using OrleansLlm.Worker;
using StackExchange.Redis;

namespace OrleansLlm.Hosting;

public static class OrleansLlmSiloBuilderExtensions
{
    /// <summary>
    /// Adds the OrleansLlm grains' services to a silo: options bound from configuration and validated at start-up,
    /// the Redis queue, the Ollama client, silo-local placement and the worker's lifecycle.
    /// </summary>
    public static ISiloBuilder AddOrleansLlm(this ISiloBuilder builder)
    {
        builder.Services.AddOrleansLlm();
        builder.AddRedisGrainDirectory(WorkerGrain.DirectoryName, directory => directory.Configure<IOptions<RedisOptions>>((o, redis) =>
        {
            o.ConfigurationOptions = ConfigurationOptions.Parse(redis.Value.ConnectionString);
            o.ConfigurationOptions.AbortOnConnectFail = false;
        }));
        return builder;
    }

    public static IServiceCollection AddOrleansLlm(this IServiceCollection services)
    {
        services.AddValidatedOptions<RedisOptions, RedisOptionsValidator>(RedisOptions.Section);
        services.AddValidatedOptions<QueueOptions, QueueOptionsValidator>(QueueOptions.Section);
        services.AddValidatedOptions<OllamaOptions, OllamaOptionsValidator>(OllamaOptions.Section);
        services.AddValidatedOptions<PromptOptions, PromptOptionsValidator>(PromptOptions.Section);
        services.AddValidatedOptions<WorkerOptions, WorkerOptionsValidator>(WorkerOptions.Section);

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IConnectionMultiplexer>(sp => ConnectRedis(sp.GetRequiredService<IOptions<RedisOptions>>().Value));
        services.TryAddSingleton<RedisWorkQueue>();

        services.AddHttpClient<OllamaGenerator>((sp, http) =>
        {
            var ollama = sp.GetRequiredService<IOptions<OllamaOptions>>().Value;
            http.BaseAddress = new Uri(ollama.Url);
            http.Timeout = ollama.RequestTimeout;
        });
        services.TryAddTransient<ItemProcessor>();
        // One controller per worker (transient): each tracks its own Ollama.
        services.TryAddTransient<IConcurrencyController>(sp => sp.GetRequiredService<IOptions<WorkerOptions>>().Value.AdaptiveConcurrency
            ? ActivatorUtilities.CreateInstance<AdaptiveConcurrencyController>(sp)
            : ActivatorUtilities.CreateInstance<FixedConcurrencyController>(sp));

        services.AddPlacementDirector<SiloLocalPlacement, SiloLocalPlacementDirector>();

        services.TryAddSingleton<LocalWorkerState>();
        services.TryAddSingleton<WorkerLifecycle>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<WorkerLifecycle>());
        return services;
    }

    /// <summary>Connects without failing start-up when Redis is briefly away; calls fail and are retried until it answers.</summary>
    public static IConnectionMultiplexer ConnectRedis(RedisOptions options)
    {
        var config = ConfigurationOptions.Parse(options.ConnectionString);
        config.AbortOnConnectFail = false;
        return ConnectionMultiplexer.Connect(config);
    }

    private static void AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.AddOptions<TOptions>().BindConfiguration(section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
    }
}
