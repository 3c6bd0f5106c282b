using Egressd.Local;
using Egressd.Shared.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddEgressdDefaults("egressd", defaultPort: 6060);
builder.AddAllInOne();
var app = builder.Build();
app.MapEgressdEndpoints();
return await app.RunEgressdAsync();
