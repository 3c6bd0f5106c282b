using Egressd.Enricher;
using Egressd.Shared.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddEgressdDefaults("egressd-enricher", defaultPort: 6062);
builder.AddEnricher();
var app = builder.Build();
app.MapEgressdEndpoints();
return await app.RunEgressdAsync();
