namespace OrleansLlm.Api.Files;

/// <summary>An upload went past <see cref="ApiOptions.MaxFileBytes"/>; nothing of it is kept.</summary>
public sealed class FileTooLargeException(long limit) : Exception($"The file is larger than {limit} bytes.")
{
    public long Limit { get; } = limit;
}
