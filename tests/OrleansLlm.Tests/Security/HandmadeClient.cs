using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using StackExchange.Redis;

namespace OrleansLlm.Tests.Security;

/// <summary>What one hand-made client managed: to connect, and to make its call.</summary>
public sealed record ClientAttempt(bool Connected, bool Called, string Outcome, TimeSpan Elapsed);

/// <summary>
/// An Orleans client put together the way an intruder would, in a few lines, with the cluster id and Redis found by
/// looking, and whatever TLS it is given: for what the CLI, which checks its own settings first, refuses to try.
/// </summary>
public static class HandmadeClient
{
    public static async Task<ClientAttempt> TryAsync(
        string redis, string clusterId, Action<IClientBuilder> configure, Func<IClusterClient, Task<string>> call, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, "orleansllm"));
            client.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
            // One attempt: Orleans would repeat the same refused handshake for three minutes.
            client.UseConnectionRetryFilter((_, _) => Task.FromResult(false));
            configure(client);
        });
        using var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken);
        }
        catch (Exception ex)
        {
            return new ClientAttempt(false, false, $"could not connect: {ex.GetType().Name}: {FirstLine(ex.Message)}", clock.Elapsed);
        }

        try
        {
            var result = await call(host.Services.GetRequiredService<IClusterClient>());
            return new ClientAttempt(true, true, result, clock.Elapsed);
        }
        catch (Exception ex)
        {
            return new ClientAttempt(true, false, $"connected, the call failed: {ex.GetType().Name}: {FirstLine(ex.Message)}", clock.Elapsed);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();
}
