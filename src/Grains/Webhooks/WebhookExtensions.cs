using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace OrleansLlm.Webhooks;

public static class WebhookExtensions
{
    /// <summary>
    /// Adds webhooks for batch ends: <see cref="WebhookOptions"/> (section <c>Webhooks</c>, validated at start-up),
    /// the <see cref="WebhookOutbox"/> that the API publishes to, and a <see cref="WebhookSender"/> in this silo, which
    /// sends only while <see cref="WebhookOptions.Url"/> is set. Needs the silo's Redis connection, the queue's options
    /// and its clock (<c>AddOrleansLlm</c> adds them).
    /// </summary>
    public static ISiloBuilder AddWebhooks(this ISiloBuilder builder)
    {
        builder.Services.AddWebhooks();
        return builder;
    }

    public static IServiceCollection AddWebhooks(this IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(WebhookOutbox)))
        {
            return services;
        }

        services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddSingleton<WebhookStore>();
        services.AddSingleton<WebhookOutbox>();
        services.AddSingleton<WebhookMetrics>();
        services.AddHttpClient(WebhookSender.HttpClientName)
            .ConfigureHttpClient((sp, http) => http.Timeout = sp.GetRequiredService<IOptions<WebhookOptions>>().Value.RequestTimeout)
            // A redirect is an answer other than 2xx, tried again like any other, never followed to wherever it points.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None })
            // Its own log lines name the URL as configured, which may carry a token; the sender logs it without one.
            .RemoveAllLoggers();
        services.AddHostedService<WebhookSender>();
        return services;
    }
}
