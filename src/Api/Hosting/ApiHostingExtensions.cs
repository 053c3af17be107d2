using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OrleansLlm.Api.Auth;
using OrleansLlm.Api.Batches;
using OrleansLlm.Api.Errors;
using OrleansLlm.Api.Files;

namespace OrleansLlm.Api.Hosting;

public static class ApiHostingExtensions
{
    public const string PathPrefix = "/v1";

    /// <summary>
    /// Adds the OpenAI Batch API (section <c>Api</c>, validated at start-up): the key check, the file and batch stores,
    /// and the sweep that records batches' ends. It is served only when <c>Api:Keys</c> holds a key.
    /// </summary>
    /// <remarks>
    /// The silo listens on <see cref="ApiOptions.Port"/> itself, beside its other ports, and checks that none is taken twice.
    /// A batch's end is told to the <see cref="IBatchEndedPublisher"/> registered, by default its webhook (when <c>Webhooks:Url</c> is set).
    /// </remarks>
    public static WebApplicationBuilder AddOrleansLlmApi(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ApiOptions>, ApiOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ApiKeys>();
        services.TryAddSingleton<ApiFileStore>();
        services.TryAddSingleton<ApiBatchStore>();
        services.AddMetrics();
        services.TryAddSingleton<ApiBatchMetrics>();
        services.TryAddSingleton<IFileContent, BatchFileContent>();
        services.TryAddSingleton<IBatchEndedPublisher, WebhookBatchEndedPublisher>();
        if (builder.Configuration.GetSection(ApiOptions.Section).Get<ApiOptions>() is { Enabled: true })
        {
            services.AddHostedService<OpenAiBatchSweep>();
        }

        return builder;
    }

    /// <summary>Maps <c>/v1/files</c> and <c>/v1/batches</c> behind the key check, answered on <see cref="ApiOptions.Port"/> alone.</summary>
    public static WebApplication MapOrleansLlmApi(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ApiOptions>>().Value;
        if (!options.Enabled)
        {
            return app;
        }

        // The API port answers /v1 and nothing else, and /v1 is answered there alone: the port a NetworkPolicy opens
        // to the teams must not also serve the dashboard, drain state, health or metrics.
        app.Use((context, next) =>
            (context.Connection.LocalPort == options.Port) == context.Request.Path.StartsWithSegments(PathPrefix)
                ? next(context)
                : Results.NotFound().ExecuteAsync(context));

        var v1 = app.MapGroup(PathPrefix).AddEndpointFilter<ApiKeyFilter>();
        v1.MapFiles();
        v1.MapBatches();
        v1.MapFallback(context => ApiErrors.Error(StatusCodes.Status404NotFound, $"Unknown request URL: {context.Request.Method} {context.Request.Path}.", ApiErrors.InvalidRequest, null, "unknown_url").ExecuteAsync(context));
        return app;
    }
}
