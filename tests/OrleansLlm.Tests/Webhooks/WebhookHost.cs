using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Redis;
using OrleansLlm.Webhooks;

namespace OrleansLlm.Tests.Webhooks;

/// <summary>
/// The webhooks as a silo has them (<see cref="WebhookExtensions.AddWebhooks(Microsoft.Extensions.DependencyInjection.IServiceCollection)"/>
/// on a host with the silo's Redis connection and queue options), without the rest of the silo: its outbox, its store
/// and, once started, its sender.
/// </summary>
public sealed class WebhookHost : IAsyncDisposable
{
    private readonly IHost _host;

    private WebhookHost(IHost host) => _host = host;

    public WebhookOutbox Outbox => _host.Services.GetRequiredService<WebhookOutbox>();

    public WebhookStore Store => _host.Services.GetRequiredService<WebhookStore>();

    public IServiceProvider Services => _host.Services;

    /// <param name="settings">Configuration as the silo reads it, e.g. <c>Webhooks:Url</c>.</param>
    /// <param name="logs">Where the host's logs go; none when null.</param>
    public static async Task<WebhookHost> StartAsync(string redis, string queue, IReadOnlyDictionary<string, string?> settings, ILoggerProvider? logs = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
        }

        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(settings)
        {
            ["Redis:ConnectionString"] = redis,
            ["Queue:Name"] = queue,
        });
        builder.Services.AddOptions<RedisOptions>().BindConfiguration(RedisOptions.Section);
        builder.Services.AddOptions<QueueOptions>().BindConfiguration(QueueOptions.Section);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(QueueClock.Redis);
        builder.Services.AddSingleton<RedisConnection>();
        builder.Services.AddWebhooks();
        var host = builder.Build();
        await host.Services.GetRequiredService<RedisConnection>().ConnectAsync();
        await host.StartAsync();
        return new WebhookHost(host);
    }

    /// <summary>Stops the host as a silo stops: the sender's token is cancelled mid-delivery, its leases left to run out.</summary>
    public Task StopAsync() => _host.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        // Asynchronously: the container disposes the Redis connection, which is only IAsyncDisposable.
        await ((IAsyncDisposable)_host).DisposeAsync();
    }
}
