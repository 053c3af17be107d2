using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace OrleansLlm;

/// <summary>
/// Lets the exceptions a grain call can end in reach the caller with their type and message: Redis' (a timeout, a
/// lost connection, a refused command) and OrleansLlm's own. Orleans carries only exceptions whose namespace starts
/// with Microsoft, System or Azure; any other reaches the caller as a <c>CodecNotFoundException</c> that names the
/// type and loses what went wrong. Silos and clients both add it: the silo serializes, the client reads.
/// </summary>
public static class GrainCallExceptions
{
    public static IServiceCollection AddGrainCallExceptions(this IServiceCollection services) =>
        services.Configure<ExceptionSerializationOptions>(o =>
        {
            o.SupportedNamespacePrefixes.Add("StackExchange.Redis");
            o.SupportedNamespacePrefixes.Add("OrleansLlm");
        });
}
