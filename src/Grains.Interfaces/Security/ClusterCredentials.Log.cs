using Microsoft.Extensions.Logging;

namespace OrleansLlm.Security;

public sealed partial class ClusterCredentials
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Cluster certificate reloaded: {Subject}, thumbprint {Thumbprint}, valid until {NotAfter:u}")]
    private static partial void LogReloaded(ILogger logger, string subject, string thumbprint, DateTime notAfter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster certificate files changed but are not usable, the certificate in use is kept: {Reason}")]
    private static partial void LogRenewalRefused(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster certificate files could not be read again, the certificate in use is kept: {Reason}")]
    private static partial void LogReloadFailed(ILogger logger, string reason);
}
