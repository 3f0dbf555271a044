// placeholder until the push tests land
